import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import type { DeltaMessage, SnapshotMessage, WireFormat } from '../src/protocol.js';
import { rawClient } from './rawClient.js';
import type { RawClient } from './rawClient.js';

let server: WsServer | undefined;
afterEach(async () => {
  await server?.close({ timeout: 500 });
  server = undefined;
});

/** Bytes the client's socket has read (the compressed size on the wire when deflate was negotiated). */
const wireBytes = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket.bytesRead;

const trades = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ symbol: 'AAPL', ts: 1_700_000_000_000 + from + i, price: 150 + ((from + i) % 7) / 100, size: 100 }));

async function subscribeAndReceive(c: RawClient, publish: () => void): Promise<{ snapshot: SnapshotMessage; delta: DeltaMessage }> {
  c.send({ type: 'subscribe', channels: ['trades:AAPL'], id: 1 });
  const snapshot = (await c.next('snapshot')) as SnapshotMessage;
  publish();
  const delta = (await c.next('delta', (m) => m.rows.length === 200)) as DeltaMessage;
  return { snapshot, delta };
}

describe.each<WireFormat>(['msgpack', 'json'])('permessage-deflate (%s)', (format) => {
  it('is negotiated with a client that offers it, and that client gets the same messages in fewer bytes than one that does not', async () => {
    server = await startWsServer({ flushInterval: 10, history: { trades: 200 }, perMessageDeflate: true });
    const plain = await rawClient(server.url, { format, perMessageDeflate: false });
    const deflated = await rawClient(server.url, { format, perMessageDeflate: true });
    expect(plain.ws.extensions).toBe('');
    expect(deflated.ws.extensions).toContain('permessage-deflate');
    await plain.next('welcome');
    await deflated.next('welcome');
    server.publish('trades', trades(10));
    plain.send({ type: 'subscribe', channels: ['trades:AAPL'], id: 1 });
    const s0 = (await plain.next('snapshot')) as SnapshotMessage;
    const before = { plain: wireBytes(plain), deflated: wireBytes(deflated) };
    const got = await subscribeAndReceive(deflated, () => server!.publish('trades', trades(200, 10)));
    const d0 = (await plain.next('delta', (m) => m.rows.length === 200)) as DeltaMessage;
    expect(got.snapshot.rows).toEqual(s0.rows);
    expect(got.delta.rows).toEqual(trades(200, 10));
    expect(d0.rows).toEqual(got.delta.rows);
    const plainBytes = wireBytes(plain) - before.plain;
    const deflatedBytes = wireBytes(deflated) - before.deflated;
    // 200 trades of one symbol compress well; the deflated client also got a snapshot, the plain one did not.
    expect(deflatedBytes).toBeLessThan(plainBytes / 2);
    await plain.close();
    await deflated.close();
  });
});

describe('permessage-deflate shared frames', () => {
  it('compresses a frame once per window size: clients with the same subscription and window read the same bytes; a 10-bit window, an 8-bit one (sent plain) and a plain client decode the same messages', async () => {
    server = await startWsServer({ flushInterval: 10, history: { trades: 200 }, perMessageDeflate: { threshold: 0 } });
    const offers = [true, true, { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 8 }, false] as const;
    const cs: RawClient[] = [];
    for (const perMessageDeflate of offers) cs.push(await rawClient(server.url, { perMessageDeflate }));
    expect(cs.map((c) => c.ws.extensions)).toEqual(['permessage-deflate', 'permessage-deflate', 'permessage-deflate', 'permessage-deflate', '']);
    const frames = cs.map(() => [] as Buffer[]);
    cs.forEach((c, i) => (c.ws as unknown as { _socket: Socket })._socket.on('data', (d: Buffer) => frames[i]!.push(d)));
    for (const c of cs) {
      await c.next('welcome');
      c.send({ type: 'subscribe', channels: ['trades:AAPL'], id: 1 });
      await c.next('snapshot');
    }
    frames.forEach((f) => (f.length = 0));
    server.publish('trades', trades(200));
    const deltas = await Promise.all(cs.map((c) => c.next('delta', (m) => m.rows.length === 200)));
    for (const d of deltas) expect(d.rows).toEqual(trades(200));
    const bytes = frames.map((f) => Buffer.concat(f));
    expect(bytes[0]!.equals(bytes[1]!)).toBe(true);
    expect(bytes[0]![0]).toBe(0xc2); // FIN + RSV1 (compressed) + binary
    expect(bytes[2]![0]).toBe(0xc2); // compressed for a 10-bit window
    expect(bytes[3]![0]).toBe(0x82); // an 8-bit window cannot be honoured: sent plain
    expect(bytes[0]!.length).toBeLessThan(bytes[4]!.length / 2);
    for (const c of cs) await c.close();
  });
});

describe('permessage-deflate window sizes', () => {
  it('compresses within the window a client asked for: a repeat 1.5 KB back is a back-reference for a 15-bit window, not for a 10-bit (1 KiB) one', async () => {
    server = await startWsServer({ flushInterval: 10, perMessageDeflate: { threshold: 0 } });
    const small = await rawClient(server.url, { perMessageDeflate: { serverMaxWindowBits: 10 } });
    const full = await rawClient(server.url, { perMessageDeflate: true });
    const received = new Map<RawClient, number>();
    for (const c of [small, full]) {
      await c.next('welcome');
      c.send({ type: 'subscribe', channels: ['trades:AAPL'], id: 1 });
      await c.next('snapshot');
      received.set(c, 0);
      (c.ws as unknown as { _socket: Socket })._socket.on('data', (d: Buffer) => received.set(c, received.get(c)! + d.length));
    }
    const note = randomBytes(1_100).toString('base64'); // ~1.5 KB, incompressible by itself
    const rows = [0, 1].map((i) => ({ symbol: 'AAPL', ts: i, price: 1, size: 1, note }));
    server.publish('trades', rows);
    for (const c of [small, full]) expect((await c.next('delta')).rows).toEqual(rows);
    // The full window finds the second copy of the note; the small one must carry it again.
    expect(received.get(small)! - received.get(full)!).toBeGreaterThan(800);
    await small.close();
    await full.close();
  });
});

describe('permessage-deflate off (the default)', () => {
  it('is not negotiated even when the client offers it; frames arrive uncompressed', async () => {
    server = await startWsServer({ flushInterval: 10, history: { trades: 200 } });
    const c = await rawClient(server.url, { perMessageDeflate: true });
    expect(c.ws.extensions).toBe('');
    await c.next('welcome');
    const { delta } = await subscribeAndReceive(c, () => server!.publish('trades', trades(200)));
    expect(delta.rows).toEqual(trades(200));
    expect(server.stats().bytesOut).toBeLessThanOrEqual(wireBytes(c));
    await c.close();
  });

  it('rejects invalid compression options with INVALID_ARGUMENT', async () => {
    await expect(startWsServer({ perMessageDeflate: { level: 12 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
