import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../src/client/index.js';
import type { ChannelUpdate, TickflowClient } from '../src/client/index.js';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import { JSON_SUBPROTOCOL } from '../src/protocol.js';
import type { WireFormat } from '../src/protocol.js';
import { candle, sleep, until } from './rawClient.js';

let server: WsServer | undefined;
let client: TickflowClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close({ timeout: 500 });
  server = undefined;
});

describe.each<WireFormat>(['msgpack', 'json'])('client SDK (%s)', (format) => {
  it('applies snapshot and deltas to a local state and hands the UI one batch per interval', async () => {
    server = await startWsServer({ flushInterval: 5 });
    server.publish('candles', [candle({ start: 0, end: 60_000 })]);
    client = createClient({ url: server.url, WebSocket, format, batchInterval: 50 });
    const batches: (readonly ChannelUpdate[])[] = [];
    client.on('batch', (b) => batches.push(b));
    const updates: ChannelUpdate<'candles:AAPL:1m'>[] = [];
    const sub = client.subscribe('candles:AAPL:1m', (u) => updates.push(u));
    client.subscribe('ticker');
    await until('snapshot', () => updates.length === 1);
    expect(updates[0]!.reset).toBe(true);
    expect(updates[0]!.rows).toEqual([candle({ start: 0, end: 60_000 })]);

    const batchesBefore = batches.length;
    for (let i = 1; i <= 20; i++) {
      server.publish('candles', [candle({ start: 0, end: 60_000, close: 100 + i / 10, rev: 1 + i })]);
      server.publish('trades', [{ symbol: 'AAPL', ts: i, price: 100 + i / 10, size: 1 }]);
      await sleep(2); // pacing on purpose: the updates spread over several flushes and batch intervals
    }
    await until('last update', () => updates.at(-1)!.rows[0]!.rev === 21);
    // 20 updates over ~40-60 ms arrive in a handful of batches, not 40 callbacks.
    expect(batches.length - batchesBefore).toBeLessThanOrEqual(4);
    expect(client.rows('candles:AAPL:1m')).toEqual([candle({ start: 0, end: 60_000, close: 102, rev: 21 })]);
    expect(client.rows('ticker')![0]).toMatchObject({ symbol: 'AAPL', last: 102, volume: 20 });
    expect(client.synced).toBe(true);

    sub.unsubscribe();
    expect(client.rows('candles:AAPL:1m')).toBeUndefined();
  });
});

describe('client SDK', () => {
  it('asks for a resync when it sees a sequence gap and recovers from the fresh snapshot', async () => {
    // A scripted server: snapshot at 1, delta 2, then a delta from 3 to 4 (3 is missing).
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => JSON_SUBPROTOCOL });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const received: unknown[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string };
        received.push(m);
        const row = (close: number) => ({ symbol: 'X', ts: close, bid: close, ask: close + 1 });
        if (m.type === 'subscribe') {
          ws.send(JSON.stringify([{ type: 'snapshot', channel: 'quotes:X', seq: 1, rows: [row(1)], limit: 1 }]));
          ws.send(JSON.stringify([{ type: 'delta', channel: 'quotes:X', seq: 2, prev: 1, rows: [{ symbol: 'X', bid: 2 }] }]));
          ws.send(JSON.stringify([{ type: 'delta', channel: 'quotes:X', seq: 4, prev: 3, rows: [{ symbol: 'X', bid: 4 }] }]));
        }
        if (m.type === 'resync') ws.send(JSON.stringify([{ type: 'snapshot', channel: 'quotes:X', seq: 4, rows: [row(4)], limit: 1 }]));
      });
    });
    const port = (wss.address() as { port: number }).port;
    client = createClient({ url: `ws://127.0.0.1:${port}`, WebSocket, format: 'json', batchInterval: 10 });
    client.subscribe('quotes:X');
    await until('resynced', () => client!.rows('quotes:X')?.[0]?.bid === 4);
    expect(received).toContainEqual(expect.objectContaining({ type: 'resync', channel: 'quotes:X' }));
    expect(client.stats.gaps).toBe(1);
    expect(client.rows('quotes:X')).toEqual([{ symbol: 'X', ts: 4, bid: 4, ask: 5 }]);
    client.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('reconnects with backoff after a server restart, resubscribes and restores the state', async () => {
    server = await startWsServer({ flushInterval: 5 });
    const port = server.port;
    server.publish('candles', [candle({ start: 0, end: 60_000 })]);
    client = createClient({ url: server.url, WebSocket, batchInterval: 10, reconnect: { initialDelay: 50, maxDelay: 200 } });
    const statuses: string[] = [];
    client.on('status', (s) => statuses.push(s));
    client.subscribe('candles:AAPL:1m');
    await until('first snapshot', () => client!.rows('candles:AAPL:1m')?.length === 1);

    await server.close();
    // A new process on the same port: its state comes back from the pipeline (here: republished), with a correction.
    server = await startWsServer({ port, flushInterval: 5 });
    server.publish('candles', [candle({ start: 0, end: 60_000, rev: 2, close: 99 }), candle({ start: 60_000, end: 120_000 })]);
    await until('state restored', () => client!.rows('candles:AAPL:1m')?.length === 2, 5_000);
    expect(client.rows('candles:AAPL:1m')).toEqual([candle({ start: 0, end: 60_000, rev: 2, close: 99 }), candle({ start: 60_000, end: 120_000 })]);
    expect(statuses).toContain('reconnecting');
    expect(client.status).toBe('open');
    expect(client.stats.connects).toBe(2);
    server.publish('candles', [candle({ start: 60_000, end: 120_000, close: 101, rev: 2 })]);
    await until('live again', () => client!.rows('candles:AAPL:1m')?.[1]?.close === 101);
  });

  it('gets a fresh token for every connection attempt', async () => {
    let calls = 0;
    server = await startWsServer({ flushInterval: 5, authenticate: (req) => (new URL(req.url!, 'http://x').searchParams.get('token') === 'good' ? { subject: 'u', claims: {} } : null) });
    client = createClient({ url: server.url, WebSocket, token: () => (++calls === 1 ? 'bad' : 'good'), reconnect: { initialDelay: 20, maxDelay: 50 } });
    await until('connected with the second token', () => client!.status === 'open');
    expect(calls).toBe(2);
  });
});

describe('client entry', () => {
  it('imports nothing Node-only or DOM-only (runs in browsers, Node, Electron and React Native)', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const dir = new URL('../src/client/', import.meta.url);
    const names = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const files = [...names.map((f) => new URL(f, dir)), new URL('../src/protocol.ts', import.meta.url)];
    // Packages that run everywhere, the protocol, and the client's own files (which this test reads too).
    const allowed = new Set(['eventemitter3', 'msgpackr', '@tickflow/core', '@tickflow/core/symbols', '../protocol.js', ...names.map((f) => `./${f.replace(/\.ts$/, '.js')}`)]);
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) expect(allowed, `${f.pathname}: ${m[1]}`).toContain(m[1]);
    }
  });
});
