import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelStore } from '../src/client/channelStore.js';
import { CloseCode, startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import type { DeltaMessage, SnapshotMessage } from '../src/protocol.js';
import { candle, rawClient, until } from './rawClient.js';
import type { RawClient } from './rawClient.js';

let server: WsServer | undefined;
let timer: ReturnType<typeof setInterval> | undefined;
afterEach(async () => {
  clearInterval(timer);
  await server?.close({ timeout: 500 });
  server = undefined;
});

const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

const BURST = Array.from({ length: 2_000 }, (_, k) => ({ symbol: 'HOT', ts: k, price: 100 + (k % 97) / 10, size: 1 + (k % 7) }));

/** Publishes a burst of 2 000 trades and one candle update per tick: ~80 KB per flush. */
function flood(s: WsServer): { bar: () => { high: number; low: number; close: number; rev: number } } {
  let i = 0;
  let high = 100;
  let low = 100;
  let close = 100;
  timer = setInterval(() => {
    i++;
    s.publish('trades', BURST);
    close = 100 + Math.sin(i) * 5;
    high = Math.max(high, close);
    low = Math.min(low, close);
    s.publish('candles', [candle({ symbol: 'HOT', start: 0, end: 60_000, high, low, close, rev: i, volume: i })]);
  }, 10);
  return { bar: () => ({ high, low, close, rev: i }) };
}

describe('slow consumers', () => {
  it('conflates a client that stops reading, keeps server memory bounded, and closes it with SLOW_CONSUMER after the deadline while others keep up', async () => {
    const highWaterMark = 64 * 1024;
    server = await startWsServer({ flushInterval: 10, history: { trades: 2_000 }, slowConsumer: { highWaterMark, deadline: 400, closeGrace: 5_000 } });
    const slow = await rawClient(server.url);
    const fast = await rawClient(server.url);
    for (const c of [slow, fast]) {
      c.send({ type: 'subscribe', channels: ['trades:HOT', 'candles:HOT:1m'] });
      await c.next('snapshot');
      await c.next('snapshot');
    }
    socketOf(slow).pause(); // stops reading: the kernel buffers fill, then the server's
    const { bar } = flood(server);
    await until('the slow client is closed', () => server!.stats().slowConsumerCloses === 1, 20_000);
    clearInterval(timer);
    server.flush();
    await until('the fast client has the last bar', () => fast.messages.some((m) => m.type === 'delta' && m.channel === 'candles:HOT:1m' && (m.rows[0] as { rev: number }).rev === bar().rev));
    const s = server.stats();
    expect(s.conflations).toBeGreaterThan(0);
    // Bounded: the socket buffer never grows past the mark plus one frame (about 100 KB here), whatever the publisher does.
    expect(s.maxBufferedAmount).toBeLessThan(highWaterMark + 256 * 1024);
    expect(s.conflatedRows).toBe(0);
    expect(s.subscriptions).toBe(2); // the slow client's subscriptions were released

    // The fast client got every sequence number in order.
    const deltas = fast.messages.filter((m): m is DeltaMessage => m.type === 'delta' && m.channel === 'candles:HOT:1m');
    for (let k = 1; k < deltas.length; k++) expect(deltas[k]!.prev).toBe(deltas[k - 1]!.seq);
    expect(deltas.at(-1)!.rows[0]).toMatchObject({ rev: bar().rev });

    socketOf(slow).resume();
    expect((await slow.closed).code).toBe(CloseCode.SLOW_CONSUMER);
    await fast.close();
  });

  it('brings a client that fell behind and recovered to the exact server state with conflated deltas (candle bars merged by OHLC rules)', async () => {
    server = await startWsServer({ flushInterval: 10, history: { trades: 2_000 }, slowConsumer: { highWaterMark: 32 * 1024, deadline: 60_000 } });
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['trades:HOT', 'candles:HOT:1m'] });
    await c.next('snapshot');
    await c.next('snapshot');
    socketOf(c).pause();
    const { bar } = flood(server);
    await until('conflation', () => server!.stats().conflations > 20, 20_000);
    clearInterval(timer);
    socketOf(c).resume();
    server.flush();
    await until('caught up', () => server!.stats().conflatedRows === 0 && c.ws.bufferedAmount === 0, 10_000);
    // The last bar travels in the last flush, with the last trades.
    const last = bar().rev;
    await until('the client has the last bar', () => c.messages.some((m) => (m.type === 'delta' || m.type === 'snapshot') && m.channel === 'candles:HOT:1m' && m.rows.some((r) => (r as { rev: number }).rev === last)), 10_000);
    // Replay what the client received into a local store: no gap, and the bar equals the server's.
    const stores = { 'trades:HOT': new ChannelStore('trades'), 'candles:HOT:1m': new ChannelStore('candles') };
    let gaps = 0;
    let spanning = 0;
    for (const m of c.messages) {
      if (m.type === 'snapshot') stores[m.channel as keyof typeof stores].applySnapshot(m as SnapshotMessage);
      if (m.type === 'delta') {
        if (m.seq - m.prev > 1) spanning++;
        if (stores[m.channel as keyof typeof stores].applyDelta(m as DeltaMessage) === 'gap') gaps++;
      }
    }
    expect(gaps).toBe(0);
    expect(spanning).toBeGreaterThan(0);
    expect(stores['candles:HOT:1m'].rows()[0]).toMatchObject(bar());
    const fresh = await rawClient(server.url);
    fresh.send({ type: 'subscribe', channels: ['trades:HOT'] });
    const snap = (await fresh.next('snapshot')) as SnapshotMessage;
    expect(stores['trades:HOT'].rows()).toEqual(snap.rows);
    await fresh.close();
    await c.close();
  });
});
