import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import type { DeltaMessage, SnapshotMessage, WireFormat } from '../src/protocol.js';
import { afterMarker, candle, rawClient, until } from './rawClient.js';

let server: WsServer | undefined;
afterEach(async () => {
  await server?.close({ timeout: 500 });
  server = undefined;
});

describe.each<WireFormat>(['msgpack', 'json'])('subscribe, snapshot, delta, unsubscribe (%s)', (format) => {
  it('sends a snapshot on subscribe, then deltas with only the changed fields and consecutive sequence numbers', async () => {
    server = await startWsServer({ flushInterval: 10 });
    server.publish('candles', [candle()]);
    const c = await rawClient(server.url, { format });
    expect((await c.next('welcome')).protocol).toBe(1);
    c.send({ type: 'subscribe', channels: ['candles:AAPL:1m'], id: 1 });
    const snap = (await c.next('snapshot')) as SnapshotMessage;
    expect(snap.channel).toBe('candles:AAPL:1m');
    expect(snap.rows).toEqual([candle()]);
    expect(snap.limit).toBe(500);

    server.publish('candles', [candle({ close: 101, high: 101.5, volume: 12, rev: 2 })]);
    const d1 = (await c.next('delta')) as DeltaMessage;
    expect(d1.prev).toBe(snap.seq);
    expect(d1.seq).toBe(snap.seq + 1);
    expect(d1.rows).toEqual([{ start: 60_000, close: 101, high: 101.5, volume: 12, rev: 2 }]);

    // A new bar arrives whole; an unchanged re-emission produces nothing.
    server.publish('candles', [candle({ close: 101, high: 101.5, volume: 12, rev: 2 })]);
    server.publish('candles', [candle({ start: 120_000, end: 180_000 })]);
    const d2 = (await c.next('delta')) as DeltaMessage;
    expect(d2.prev).toBe(d1.seq);
    expect(d2.rows).toEqual([candle({ start: 120_000, end: 180_000 })]);

    c.send({ type: 'unsubscribe', channels: ['candles:AAPL:1m'], id: 2 });
    expect(await c.next('unsubscribed')).toMatchObject({ channels: ['candles:AAPL:1m'], id: 2 });
    server.publish('candles', [candle({ start: 120_000, end: 180_000, close: 90, low: 90 })]);
    await afterMarker(server, c);
    expect(c.messages.filter((m) => m.type === 'delta' && m.channel === 'candles:AAPL:1m')).toHaveLength(2);
    await c.close();
  });
});

describe('channels', () => {
  it('delivers a correction of an older bar (higher rev) keyed by its start, and ignores a stale lower rev', async () => {
    server = await startWsServer({ flushInterval: 10 });
    server.publish('candles', [candle({ start: 0, end: 60_000, final: true }), candle({ start: 60_000, end: 120_000 })]);
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['candles:AAPL:1m'] });
    const snap = (await c.next('snapshot')) as SnapshotMessage;
    expect(snap.rows.map((r) => (r as { start: number }).start)).toEqual([0, 60_000]);
    server.publish('candles', [candle({ start: 0, end: 60_000, final: true, rev: 2, volume: 11, trades: 4 })]);
    server.publish('candles', [candle({ start: 60_000, end: 120_000, rev: 0.5 as never, close: 1 })]);
    const d = (await c.next('delta')) as DeltaMessage;
    expect(d.rows).toEqual([{ start: 0, rev: 2, volume: 11, trades: 4 }]);
    await c.close();
  });

  it('serves trades (recent list then appended items), quotes and the ticker', async () => {
    server = await startWsServer({ flushInterval: 10, history: { trades: 3 } });
    const day = Date.UTC(2024, 0, 19);
    server.publish('trades', [1, 2, 3, 4].map((i) => ({ symbol: 'AAPL', ts: day + i, price: 100 + i, size: 10 })));
    server.publish('quotes', [{ symbol: 'AAPL', ts: day + 5, bid: 104, ask: 104.1 }]);
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['trades:AAPL', 'quotes:AAPL', 'ticker'] });
    const snaps = [await c.next('snapshot'), await c.next('snapshot'), await c.next('snapshot')] as SnapshotMessage[];
    const by = Object.fromEntries(snaps.map((s) => [s.channel, s]));
    expect(by['trades:AAPL']!.rows.map((t) => (t as { price: number }).price)).toEqual([102, 103, 104]);
    expect(by['quotes:AAPL']!.rows).toEqual([{ symbol: 'AAPL', ts: day + 5, bid: 104, ask: 104.1 }]);
    expect(by.ticker!.rows).toEqual([{ symbol: 'AAPL', last: 104, open: 101, change: 3, changePct: (3 / 101) * 100, volume: 40, ts: day + 4 }]);

    server.publish('trades', [{ symbol: 'AAPL', ts: day + 6, price: 99, size: 5, side: 'sell' }]);
    server.publish('quotes', [{ symbol: 'AAPL', ts: day + 6, bid: 104, ask: 104.2 }]);
    const deltas: DeltaMessage[] = [];
    for (let i = 0; i < 3; i++) deltas.push((await c.next('delta')) as DeltaMessage);
    const d = Object.fromEntries(deltas.map((x) => [x.channel, x.rows]));
    expect(d['trades:AAPL']).toEqual([{ symbol: 'AAPL', ts: day + 6, price: 99, size: 5, side: 'sell' }]);
    expect(d['quotes:AAPL']).toEqual([{ symbol: 'AAPL', ts: day + 6, ask: 104.2 }]);
    expect(d.ticker).toEqual([{ symbol: 'AAPL', last: 99, change: -2, changePct: (-2 / 101) * 100, volume: 45, ts: day + 6 }]);
    await c.close();
  });

  it('coalesces many updates of one interval into one frame per connection, encoded once for every subscriber', async () => {
    server = await startWsServer({ flushInterval: 40 });
    const clients = await Promise.all([1, 2, 3].map(() => rawClient(server!.url)));
    for (const c of clients) {
      c.send({ type: 'subscribe', channels: ['trades:A', 'trades:B', 'ticker'] });
    }
    // Every subscription answered: nothing is pending before the interval under test.
    await until('three snapshots each', () => clients.every((c) => c.messages.filter((m) => m.type === 'snapshot').length === 3));
    const framesBefore = clients.map((c) => c.frames);
    const statsBefore = server.stats();
    server.flush();
    for (let i = 0; i < 50; i++) server.publish('trades', [{ symbol: i % 2 ? 'A' : 'B', ts: i, price: 1 + i, size: 1 }]);
    server.flush();
    await until('the deltas arrive', () => clients.every((c) => c.messages.filter((m) => m.type === 'delta').length === 3));
    const s = server.stats();
    for (let i = 0; i < 3; i++) {
      expect(clients[i]!.frames - framesBefore[i]!).toBe(1);
      const ds = clients[i]!.messages.filter((m) => m.type === 'delta');
      expect(ds.map((m) => m.channel).sort()).toEqual(['ticker', 'trades:A', 'trades:B']);
    }
    expect(s.deltas - statsBefore.deltas).toBe(3);
    expect(s.framesOut - statsBefore.framesOut).toBe(3);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('answers a resync with a fresh snapshot at the current sequence number', async () => {
    server = await startWsServer({ flushInterval: 10 });
    server.publish('quotes', [{ symbol: 'X', ts: 1, bid: 1, ask: 2 }]);
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['quotes:X'] });
    await c.next('snapshot');
    server.publish('quotes', [{ symbol: 'X', ts: 2, bid: 1.5, ask: 2 }]);
    const d = (await c.next('delta')) as DeltaMessage;
    c.send({ type: 'resync', channel: 'quotes:X' });
    const s = (await c.next('snapshot')) as SnapshotMessage;
    expect(s.seq).toBe(d.seq);
    expect(s.rows).toEqual([{ symbol: 'X', ts: 2, bid: 1.5, ask: 2 }]);
    c.send({ type: 'resync', channel: 'quotes:Y' });
    expect(await c.next('error')).toMatchObject({ code: 'NOT_SUBSCRIBED' });
    c.send({ type: 'ping', id: 7, ts: 123 });
    expect(await c.next('pong')).toMatchObject({ id: 7, ts: 123 });
    await c.close();
  });

  it('answers unknown channels with an error and keeps the connection', async () => {
    server = await startWsServer({ flushInterval: 10 });
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['bogus:X', 'candles:AAPL', 'candles:AAPL:1m'] });
    expect(await c.next('error')).toMatchObject({ code: 'UNKNOWN_CHANNEL', channel: 'bogus:X' });
    expect(await c.next('error')).toMatchObject({ code: 'UNKNOWN_CHANNEL', channel: 'candles:AAPL' });
    expect(await c.next('snapshot')).toMatchObject({ channel: 'candles:AAPL:1m', rows: [] });
    await c.close();
  });

  it('feeds a pipeline output into the channels', async () => {
    server = await startWsServer({ flushInterval: 10 });
    const out = server.output('candles');
    await out.write([candle({ symbol: 'MSFT' })]);
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['candles:MSFT:1m'] });
    expect(((await c.next('snapshot')) as SnapshotMessage).rows).toEqual([candle({ symbol: 'MSFT' })]);
    await c.close();
  });

  it('terminates a connection that stops answering heartbeats and keeps one that answers', async () => {
    server = await startWsServer({ heartbeatInterval: 40 });
    const { WebSocket } = await import('ws');
    const dead = new WebSocket(server.url, { autoPong: false });
    const deadClosed = new Promise<number>((r) => dead.on('close', (code) => r(code)));
    await new Promise((r) => dead.once('open', r));
    const alive = await rawClient(server.url);
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    expect(await deadClosed).toBe(1006); // terminated: no close frame for a dead peer
    expect(server.stats().heartbeatTimeouts).toBe(1);
    // The answering one lives through two more heartbeat rounds (ws answers pings by itself).
    const seen = pings;
    await until('two more heartbeats', () => pings >= seen + 2);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(server.stats().connections).toBe(1);
    await alive.close();
  });

  it('attaches to an existing http.Server and closes gracefully with 1001 after delivering pending data', async () => {
    const { createServer } = await import('node:http');
    const http = createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    server = await startWsServer({ server: http, path: '/live', flushInterval: 1_000 });
    const c = await rawClient(`ws://127.0.0.1:${port}/live`);
    c.send({ type: 'subscribe', channels: ['quotes:Z'] });
    await until('the subscription is registered', () => server!.stats().subscriptions === 1);
    server.flush();
    await c.next('snapshot');
    server.publish('quotes', [{ symbol: 'Z', ts: 1, bid: 1, ask: 2 }]);
    const s = server;
    server = undefined;
    await s.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(c.messages.at(-1)).toMatchObject({ type: 'delta', channel: 'quotes:Z' });
    expect(http.listening).toBe(true); // not ours to close
    await new Promise<void>((r) => http.close(() => r()));
  });
});
