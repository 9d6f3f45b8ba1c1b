// Private `user:TOPIC` channels: one name, a different channel per authenticated subject.
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import type { SnapshotMessage } from '../src/protocol.js';
import { rawClient } from './rawClient.js';

let server: WsServer | undefined;
afterEach(async () => {
  await server?.close({ timeout: 500 });
  server = undefined;
});

/** Subject from `?user=NAME` (a stand-in for a verified token). */
const byQuery = (req: { url?: string | undefined }) => {
  const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user');
  return user === null ? null : { subject: user, claims: {} };
};

describe('private user channels', () => {
  it('delivers rows published to a subject only to that subject, even when others subscribe to the same name', async () => {
    server = await startWsServer({ flushInterval: 5, authenticate: byQuery });
    server.publishTo('alice', 'user:orders', [{ id: 'o1', status: 'open' }]);
    const alice = await rawClient(`${server.url}?user=alice`);
    const alice2 = await rawClient(`${server.url}?user=alice`);
    const bob = await rawClient(`${server.url}?user=bob`);
    for (const c of [alice, alice2, bob]) c.send({ type: 'subscribe', channels: ['user:orders'] });
    expect((await alice.next('snapshot')).rows).toEqual([{ id: 'o1', status: 'open' }]);
    expect((await alice2.next('snapshot')).rows).toEqual([{ id: 'o1', status: 'open' }]);
    expect((await bob.next('snapshot')).rows).toEqual([]);
    server.publishTo('alice', 'user:orders', [{ id: 'o1', status: 'filled', fillPrice: 101 }]);
    server.publishTo('bob', 'user:orders', [{ id: 'o2', status: 'open' }]);
    expect((await alice.next('delta')).rows).toEqual([{ id: 'o1', status: 'filled', fillPrice: 101 }]);
    expect((await alice2.next('delta')).rows).toEqual([{ id: 'o1', status: 'filled', fillPrice: 101 }]);
    expect((await bob.next('delta')).rows).toEqual([{ id: 'o2', status: 'open' }]);
    // Bob's only data messages: his empty snapshot and his own order.
    const bobData = bob.messages.filter((m) => m.type === 'snapshot' || m.type === 'delta');
    expect(JSON.stringify(bobData)).not.toContain('o1');
    expect(alice.messages.filter((m) => m.type === 'delta').flatMap((m) => (m as unknown as { rows: { id: string }[] }).rows.map((r) => r.id))).toEqual(['o1']);
    expect(server.stats().channels).toBe(3); // ticker + one orders channel per user
    await Promise.all([alice.close(), alice2.close(), bob.close()]);
  });

  it("refuses names that point at someone else's channel, and private channels without authentication", async () => {
    server = await startWsServer({ flushInterval: 5, authenticate: byQuery });
    server.publishTo('alice', 'user:orders', [{ id: 'o1', status: 'open' }]);
    const guest = await rawClient(`${server.url}?user=guest-1`);
    guest.send({ type: 'subscribe', channels: ['user:orders:alice', 'user:alice:orders', 'user:orders\u0000alice', 'user:'] });
    for (let i = 0; i < 4; i++) expect(await guest.next('error')).toMatchObject({ code: 'UNKNOWN_CHANNEL' });
    guest.send({ type: 'subscribe', channels: ['user:orders'] });
    expect(((await guest.next('snapshot')) as SnapshotMessage).rows).toEqual([]);
    await guest.close();

    const open = await startWsServer({ flushInterval: 5 });
    try {
      const anon = await rawClient(open.url);
      anon.send({ type: 'subscribe', channels: ['user:orders'] });
      expect(await anon.next('error')).toMatchObject({ code: 'FORBIDDEN', channel: 'user:orders' });
      await anon.close();
    } finally {
      await open.close({ timeout: 500 });
    }
  });

  it('keeps the newest rows per user channel (history.user) and rejects rows without an id', async () => {
    server = await startWsServer({ flushInterval: 5, authenticate: byQuery, history: { user: 3 } });
    const errors: string[] = [];
    server.on('error', (e) => errors.push(e.message));
    server.publishTo('carol', 'user:orders', [{ id: 'o9' }, { id: 'o10' }, { id: 'o11' }, { id: 'o12' }, { id: '' }]);
    const carol = await rawClient(`${server.url}?user=carol`);
    carol.send({ type: 'subscribe', channels: ['user:orders'] });
    expect((await carol.next('snapshot')).rows).toEqual([{ id: 'o10' }, { id: 'o11' }, { id: 'o12' }]);
    expect(errors).toEqual(['cannot publish to user:orders: a row without a string id']);
    await carol.close();
  });
});
