// A bare protocol client for tests: real socket, decodes every frame, waits for messages.
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket } from 'ws';
import type { Candle } from '@tickflow/core';
import { eventually } from '@tickflow/test-services/eventually';
// Re-exported so test files can use it without importing the harness by name (vitest.config.ts sorts
// files that import it into the integration project).
export { eventually };
import type { WsServer } from '../src/wsServer.js';
import { JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, SHARED_STRUCTURES, sharedStructures } from '../src/protocol.js';
import type { ServerMessage, WireFormat } from '../src/protocol.js';

export interface RawClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[];
  readonly frames: number;
  send(msg: unknown): void;
  next<T extends ServerMessage['type']>(type: T, pred?: (m: Extract<ServerMessage, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** `perMessageDeflate`: whether the client offers permessage-deflate (ws offers it by default). */
export async function rawClient(
  url: string,
  { format = 'msgpack' as WireFormat, headers = {} as Record<string, string>, perMessageDeflate = true as boolean | { serverMaxWindowBits?: number; serverNoContextTakeover?: boolean } } = {},
): Promise<RawClient> {
  const ws = new WebSocket(url, [format === 'json' ? JSON_SUBPROTOCOL : MSGPACK_SUBPROTOCOL], { headers, perMessageDeflate });
  const unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });
  const packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
  const messages: ServerMessage[] = [];
  let frames = 0;
  let cursor = 0;
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    frames++;
    const list = isBinary ? (unpackr.unpackMultiple(data as Buffer) as ServerMessage[]) : (JSON.parse(String(data)) as ServerMessage[]);
    for (const m of list) messages.push(m);
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return {
    ws,
    messages,
    get frames() {
      return frames;
    },
    closed,
    send(msg) {
      ws.send(format === 'json' ? JSON.stringify(msg) : packr.pack(msg));
    },
    next(type, pred, timeoutMs = 3_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          while (cursor < messages.length) {
            const m = messages[cursor++]!;
            if (m.type === type && (pred === undefined || pred(m as never))) {
              waiters.delete(check2);
              clearTimeout(timer);
              resolve(m as never);
              return true;
            }
          }
          return false;
        };
        const check2 = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(check2);
          reject(new Error(`timed out waiting for ${type}; got ${JSON.stringify(messages.slice(-5)).slice(0, 500)}`));
        }, timeoutMs);
        if (!check()) waiters.add(check2);
      });
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

/** Resolves after `ms`: only for pacing on purpose (spreading publishes over several flushes); wait on a condition with {@link until}. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns true (the harness's `eventually`, every 10 ms). */
export async function until(what: string, fn: () => boolean, timeoutMs = 5_000): Promise<void> {
  await eventually(what, fn, { timeoutMs });
}

/**
 * Proves that nothing published before this call reaches `c`, by ordering rather than by sleeping:
 * publishes a trade on a marker channel and waits for that delta. A frame holds every delta of one
 * flush, so whatever was published earlier has arrived by the time the marker has (or never will).
 * The marker is `channel` (a trades channel `c` already follows) or a fresh one it subscribes to.
 */
export async function afterMarker(server: Pick<WsServer, 'publish'>, c: RawClient, channel?: `trades:${string}`): Promise<void> {
  let marker = channel;
  if (marker === undefined) {
    const fresh = `trades:MARK${++markers}` as const;
    c.send({ type: 'subscribe', channels: [fresh] });
    await c.next('snapshot', (m) => m.channel === fresh);
    marker = fresh;
  }
  const symbol = marker.slice('trades:'.length);
  const ts = ++markTs;
  server.publish('trades', [{ symbol, ts, price: 1, size: 1 }]);
  await c.next('delta', (m) => m.channel === marker && m.rows.some((r) => (r as { ts: number }).ts === ts));
}
let markTs = 1e12;
let markers = 0;

export function candle(over: Partial<Record<string, unknown>> = {}) {
  return {
    symbol: 'AAPL',
    timeframe: '1m',
    start: 60_000,
    end: 120_000,
    final: false,
    rev: 1,
    open: 100,
    high: 101,
    low: 99,
    close: 100.5,
    volume: 10,
    trades: 3,
    vwap: 100.2,
    buyVolume: 6,
    sellVolume: 4,
    ...over,
  } as Candle;
}
