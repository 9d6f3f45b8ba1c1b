// Channel recovery (docs/protocol.md, "Recovery"): a client whose socket dies gets exactly the
// list items it missed from the server's bounded history, or a snapshot flagged recovered: false.
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { Trade } from '@tickflow/core';
import { createClient } from '../src/client/index.js';
import type { ChannelUpdate, TickflowClient } from '../src/client/index.js';
import { startWsServer } from '../src/index.js';
import type { WsServer, WsServerOptions } from '../src/index.js';
import { rawClient, until } from './rawClient.js';

let server: WsServer | undefined;
let client: TickflowClient | undefined;
let publisher: ReturnType<typeof setInterval> | undefined;
afterEach(async () => {
  clearInterval(publisher);
  client?.close();
  client = undefined;
  await server?.close({ timeout: 500 });
  server = undefined;
});

/** A `ws` WebSocket that lists its instances, so a test can kill the client's socket. */
function trackedSockets(): { Ctor: new (url: string, protocols?: string | string[]) => WebSocket; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { Ctor: Tracked, sockets };
}

const trade = (n: number): Trade => ({ symbol: 'AAPL', ts: 1_000 + n, price: 100 + (n % 7), size: n + 1 });

/** What the UI saw of `trades:AAPL`: every item (by ts) in order, the resets and the recovery flags. */
function watch(c: TickflowClient) {
  const seen: number[] = [];
  const flags: (boolean | undefined)[] = [];
  let resets = 0;
  c.subscribe('trades:AAPL', (u: ChannelUpdate<'trades:AAPL'>) => {
    if (u.recovered !== undefined) flags.push(u.recovered);
    if (u.reset) {
      resets++;
      seen.length = 0;
      for (const t of u.rows) seen.push(t.ts);
    } else {
      for (const t of u.changed) seen.push(t.ts);
    }
  });
  return {
    seen,
    flags,
    get resets() {
      return resets;
    },
  };
}

async function start(options: WsServerOptions): Promise<WsServer> {
  server = await startWsServer({ flushInterval: 5, ...options });
  return server;
}

describe('list channel recovery', () => {
  it.each(['msgpack', 'json'] as const)('gives a client whose socket was killed mid-stream exactly the trades it missed, none twice (%s)', async (format) => {
    const s = await start({ recovery: { size: 1_000, maxAge: 60_000 } });
    const { Ctor, sockets } = trackedSockets();
    client = createClient({ url: s.url, WebSocket: Ctor as never, format, batchInterval: 10, reconnect: { initialDelay: 50, maxDelay: 100, jitter: 0 } });
    const w = watch(client);
    await until('the first snapshot', () => w.resets === 1);
    let n = 0;
    publisher = setInterval(() => s.publish('trades', [trade(n++), trade(n++)]), 2);
    await until('a stream under way', () => w.seen.length >= 60);
    // Kill the socket (no close frame, like a dropped network): the client notices and reconnects while trades keep coming.
    const killedAt = n;
    sockets[0]!.terminate();
    let reopenedAt = -1;
    await until('a reconnect', () => {
      if (client!.stats.connects >= 2 && reopenedAt < 0) reopenedAt = n;
      return reopenedAt >= 0;
    });
    await until('more trades after the reconnect', () => n >= reopenedAt + 60);
    clearInterval(publisher);
    const total = n;
    await until('every trade delivered', () => w.seen.at(-1) === 1_000 + total - 1, 10_000);
    expect(reopenedAt - killedAt).toBeGreaterThan(0); // trades were published while the client was away
    expect(w.resets).toBe(1); // only the first subscribe took a snapshot
    expect(w.flags).toEqual([true]);
    expect(w.seen).toEqual(Array.from({ length: total }, (_, i) => 1_000 + i));
    expect(client.stats.connects).toBe(2);
  });

  it.each<[string, WsServerOptions['recovery']]>([
    ['longer than the history', { size: 20, maxAge: 60_000 }],
    ['older than maxAge', { size: 1_000, maxAge: 1 }],
  ])('falls back to a snapshot flagged recovered: false when the gap is %s', async (_what, recovery) => {
    const s = await start({ recovery, history: { trades: 50 } });
    const { Ctor, sockets } = trackedSockets();
    client = createClient({ url: s.url, WebSocket: Ctor as never, batchInterval: 10, reconnect: { initialDelay: 150, maxDelay: 150, jitter: 0 } });
    const w = watch(client);
    await until('the first snapshot', () => w.resets === 1);
    for (let i = 0; i < 10; i++) s.publish('trades', [trade(i)]);
    await until('the first trades', () => w.seen.length === 10);
    sockets[0]!.terminate();
    await until('the client saw the drop', () => client!.status !== 'open');
    for (let i = 10; i < 110; i++) s.publish('trades', [trade(i)]);
    await until('a snapshot after the reconnect', () => w.resets === 2);
    expect(w.flags).toEqual([false]);
    // The snapshot holds the channel's newest 50 trades; 10–59 were lost to this client, as the flag says.
    expect(w.seen).toEqual(Array.from({ length: 50 }, (_, i) => 1_060 + i));
    s.publish('trades', [trade(110)]);
    await until('the stream goes on', () => w.seen.at(-1) === 1_110);
  });

  it('falls back to a snapshot when the server restarted (another epoch)', async () => {
    const first = await start({});
    const port = first.port;
    client = createClient({ url: first.url, WebSocket, batchInterval: 10, reconnect: { initialDelay: 50, maxDelay: 100, jitter: 0 } });
    const w = watch(client);
    first.publish('trades', [trade(0), trade(1)]);
    await until('two trades', () => w.seen.length === 2);
    await first.close({ timeout: 500 });
    server = undefined;
    const second = await start({ port });
    second.publish('trades', [trade(2)]);
    await until('a snapshot from the new server', () => w.resets === 2, 10_000);
    expect(w.flags).toEqual([false]);
    expect(w.seen).toEqual([1_002]);
  });

  it('answers a subscribe with recover at the current offset with an empty recovered snapshot, and a keyed channel with its plain snapshot', async () => {
    const s = await start({});
    s.publish('trades', [trade(0), trade(1), trade(2)]);
    s.publish('quotes', [{ symbol: 'AAPL', ts: 1, bid: 1, ask: 2 }]);
    const raw = await rawClient(s.url);
    raw.send({ type: 'subscribe', channels: ['trades:AAPL'] });
    const snap = await raw.next('snapshot');
    expect(snap).toMatchObject({ offset: 3, rows: [trade(0), trade(1), trade(2)] });
    expect(typeof snap.epoch).toBe('string');
    s.publish('trades', [trade(3)]);
    const delta = await raw.next('delta');
    expect(delta).toMatchObject({ offset: 4, rows: [trade(3)] });
    raw.send({ type: 'subscribe', channels: ['trades:AAPL', 'quotes:AAPL'], recover: { 'trades:AAPL': { epoch: snap.epoch, offset: 2 }, 'quotes:AAPL': { epoch: 'x', offset: 1 } } });
    const again = await raw.next('snapshot', (m) => m.channel === 'trades:AAPL');
    expect(again).toMatchObject({ recovered: true, offset: 4, rows: [trade(2), trade(3)] });
    const quotes = await raw.next('snapshot', (m) => m.channel === 'quotes:AAPL');
    expect(quotes.recovered).toBeUndefined();
    raw.send({ type: 'subscribe', channels: ['trades:AAPL'], recover: { 'trades:AAPL': { epoch: snap.epoch, offset: 4 } } });
    expect(await raw.next('snapshot', (m) => m.channel === 'trades:AAPL')).toMatchObject({ recovered: true, rows: [] });
    raw.send({ type: 'subscribe', channels: ['trades:AAPL'], recover: { 'trades:AAPL': { epoch: snap.epoch, offset: 9 } } });
    expect(await raw.next('snapshot', (m) => m.channel === 'trades:AAPL')).toMatchObject({ recovered: false, offset: 4 });
    await raw.close();
  });
});
