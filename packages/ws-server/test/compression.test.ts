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
