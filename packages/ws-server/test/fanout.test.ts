import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import type { DeltaMessage, ServerMessage, SnapshotMessage } from '../src/protocol.js';
import { afterMarker, rawClient, sleep } from './rawClient.js';
import type { RawClient } from './rawClient.js';

let server: WsServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close({ timeout: 500 });
  server = undefined;
});

const SYMBOLS = ['A', 'B', 'C', 'D'];

/** Every trade of `channel` the client got, checking that snapshot and deltas chain without gaps. */
function tradesOf(messages: readonly ServerMessage[], channel: string): number[] {
  let seq: number | undefined;
  const out: number[] = [];
  for (const m of messages) {
    if (m.type !== 'snapshot' && m.type !== 'delta') continue;
    if (m.channel !== channel) continue;
    if (m.type === 'snapshot') seq = (m as SnapshotMessage).seq;
    else {
      const d = m as DeltaMessage;
      expect(d.prev).toBe(seq);
      seq = d.seq;
      for (const r of d.rows as { ts: number }[]) out.push(r.ts);
    }
  }
  return out;
}

describe('fan-out to many connections', () => {
  it('delivers every delta, in order and without gaps, to 300 connections with overlapping subscriptions in both formats', async () => {
    server = await startWsServer({ flushInterval: 5, history: { trades: 1_000 } });
    const subs = (i: number) => [`trades:${SYMBOLS[i % 4]}`, `trades:${SYMBOLS[(i + 1) % 4]}`];
    for (let i = 0; i < 300; i++) clients.push(await rawClient(server.url, { format: i % 3 === 0 ? 'json' : 'msgpack', perMessageDeflate: false }));
    clients.forEach((c, i) => c.send({ type: 'subscribe', channels: subs(i) }));
    await Promise.all(clients.map((c) => c.next('snapshot').then(() => c.next('snapshot'))));
    let ts = 0;
    for (let k = 0; k < 30; k++) {
      const batch = [];
      for (let j = 0; j < 8; j++) batch.push({ symbol: SYMBOLS[(k + j) % 4]!, ts: ++ts, price: 100, size: 1 });
      server.publish('trades', batch);
      await sleep(2); // pacing on purpose: the batches spread over several flushes
    }
    const expected = (sym: string) => Array.from({ length: ts }, (_, i) => i + 1).filter((t) => SYMBOLS[(Math.floor((t - 1) / 8) + ((t - 1) % 8)) % 4] === sym);
    await Promise.all(clients.map((c, i) => c.next('delta', () => subs(i).every((ch) => tradesOf(c.messages, ch).length === expected(ch.slice(7)).length), 10_000)));
    clients.forEach((c, i) => {
      for (const ch of subs(i)) expect(tradesOf(c.messages, ch)).toEqual(expected(ch.slice(7)));
    });
    expect(server.stats().connections).toBe(300);
  });

  it('sends nothing more of a channel after its unsubscribe, while the other connections keep getting it', async () => {
    server = await startWsServer({ flushInterval: 5 });
    const a = await rawClient(server.url, { perMessageDeflate: false });
    const b = await rawClient(server.url, { perMessageDeflate: false });
    clients.push(a, b);
    for (const c of clients) c.send({ type: 'subscribe', channels: ['trades:A'] });
    await Promise.all(clients.map((c) => c.next('snapshot')));
    server.publish('trades', [{ symbol: 'A', ts: 1, price: 1, size: 1 }]);
    await Promise.all(clients.map((c) => c.next('delta')));
    a.send({ type: 'unsubscribe', channels: ['trades:A'], id: 7 });
    await a.next('unsubscribed');
    const seen = a.messages.length;
    server.publish('trades', [{ symbol: 'A', ts: 2, price: 1, size: 1 }]);
    await b.next('delta');
    await afterMarker(server, a);
    expect(a.messages.slice(seen).filter((m) => m.type === 'delta' && m.channel === 'trades:A')).toEqual([]);
  });
});
