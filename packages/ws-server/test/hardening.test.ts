// vitest project: integration (a 17 MB flood of a client that never reads takes ~9 s; no services needed)
// Issue 13: what a hostile client with a valid token could do to everyone else.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import { eventually, rawClient, sleep, until } from './rawClient.js';
import type { RawClient } from './rawClient.js';

let server: WsServer | undefined;
const opened: WebSocket[] = [];
afterEach(async () => {
  for (const ws of opened.splice(0)) ws.terminate();
  await server?.close({ timeout: 500 });
  server = undefined;
});

const socketOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket;

/** The HTTP status of an upgrade (101 when it became a socket, which is kept open). */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter?: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      opened.push(ws);
      resolve({ status: 101 });
    });
    ws.on('error', (e) => {
      if (!String(e.message).includes('Unexpected server response')) reject(e);
    });
  });
}

describe('MessagePack decoding', () => {
  it('a record definition sent by one client (ext 0x72) changes nothing for the next frames of any client', async () => {
    server = await startWsServer({ flushInterval: 10 });
    server.publish('quotes', [{ symbol: 'OK', ts: 1, bid: 1, ask: 2 }]);
    const attacker = await rawClient(server.url);
    // fixext1 0x72: define record id 0x48 (the shared ['type','channels','id'] slot) as ['x'], then one record of it.
    attacker.ws.send(Buffer.from([0xd4, 0x72, 0x48, 0x91, 0xa1, 0x78, 0x01]), { binary: true });
    // Two-byte ids and other slots too.
    attacker.ws.send(Buffer.from([0xd4, 0x72, 0x49, 0x91, 0xa1, 0x79, 0x02]), { binary: true });
    await attacker.next('error'); // a well-formed frame that is not a message: BAD_MESSAGE
    const victim = await rawClient(server.url); // the SDK's encoding: shared records
    victim.send({ type: 'subscribe', channels: ['quotes:OK'], id: 1 });
    expect(await victim.next('snapshot')).toMatchObject({ channel: 'quotes:OK' });
    expect(victim.messages.filter((m) => m.type === 'error')).toEqual([]);
    // The attacker's own later frames decode normally too.
    attacker.send({ type: 'subscribe', channels: ['quotes:OK'], id: 2 });
    expect(await attacker.next('snapshot')).toMatchObject({ channel: 'quotes:OK' });
    await attacker.close();
    await victim.close();
  });
});

describe('every frame goes through the bounded path', () => {
  it('errors for one message are capped and summarised: 1 000 bad channels give 17 error messages in one frame, not 1 000 frames', async () => {
    server = await startWsServer({ flushInterval: 10 });
    const c = await rawClient(server.url);
    const framesBefore = c.frames;
    c.send({ type: 'subscribe', channels: Array.from({ length: 1_000 }, (_, i) => `bad channel ${i}`), id: 7 });
    await c.next('error', (m) => m.message.includes('more errors'));
    const framesWithErrors = c.frames;
    // A ping answered after the subscribe proves by ordering that no further error frame follows.
    c.send({ type: 'ping', id: 8 });
    await c.next('pong');
    const errors = c.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(17);
    expect(errors[16]!.message).toMatch(/^984 more errors/);
    expect(framesWithErrors - framesBefore).toBe(1);
    expect(server.stats().suppressedErrors).toBe(984);
    await c.close();
  });

  it('a client that never reads and floods bad subscribes and pings gets bounded output and is closed with SLOW_CONSUMER; other clients keep receiving', async () => {
    const highWaterMark = 16 * 1024;
    server = await startWsServer({ flushInterval: 10, rateLimit: { capacity: 1e6, refillPerSecond: 1e6, closeAfter: 1e6 }, slowConsumer: { highWaterMark, deadline: 300, closeGrace: 5_000 } });
    const hostile = await rawClient(server.url);
    const other = await rawClient(server.url);
    other.send({ type: 'subscribe', channels: ['quotes:LIVE'] });
    await other.next('snapshot');
    socketOf(hostile).pause(); // never reads again
    const bad = Array.from({ length: 1_000 }, (_, i) => `bad!${String(i).padStart(6, '0')}`); // 12 KB: under maxMessageSize
    let sent = 0;
    let closed: { code: number } | undefined;
    void hostile.closed.then((c) => (closed = c));
    // Up to ~17 MB in: 400 subscribes naming 1 000 bad channels and 2 000 pings each, until the server closes it.
    for (let round = 0; round < 400 && closed === undefined; round++) {
      hostile.send({ type: 'subscribe', channels: bad });
      for (let i = 0; i < 2_000; i++) hostile.send({ type: 'ping', id: i });
      sent++;
      server.publish('quotes', [{ symbol: 'LIVE', ts: round, bid: round, ask: round + 1 }]);
      await sleep(5); // pacing on purpose: lets the server read, answer and fall behind between rounds
    }
    await until('the hostile client is closed', () => server!.stats().slowConsumerCloses === 1, 10_000);
    const stats = server.stats();
    // Today's code wrote every error and pong straight to the socket: its buffer (server memory) grew by ~150 KB per round, without end.
    // Now the server stops writing above the high-water mark: its buffer never held more than the mark plus one frame of control messages.
    expect(stats.maxBufferedAmount).toBeLessThan(highWaterMark + 64 * 1024);
    expect(stats.droppedControl).toBeGreaterThan(0);
    expect(stats.suppressedErrors).toBeGreaterThan(0);
    expect(sent).toBeGreaterThan(0);
    // The other client still gets the live quotes.
    server.publish('quotes', [{ symbol: 'LIVE', ts: 1e9, bid: 7, ask: 8 }]);
    await other.next('delta', (m) => m.channel === 'quotes:LIVE' && m.rows.some((r) => (r as { ts: number }).ts === 1e9));
    socketOf(hostile).resume();
    await hostile.closed; // its close frame sits behind what it never read: 4000, or 1006 once the grace ends
    await other.close();
  });
});

describe('connection caps and upgrade rate', () => {
  const authenticate = (req: { url?: string | undefined }) => {
    const sub = new URL(req.url ?? '/', 'http://x').searchParams.get('user');
    return sub === null ? null : { subject: sub, claims: {} };
  };

  it('caps open connections per subject (HTTP 429); a closed one frees its slot; other users are not affected', async () => {
    server = await startWsServer({ authenticate, maxConnectionsPerSubject: 3 });
    const statuses = await Promise.all(Array.from({ length: 6 }, () => upgrade(`${server!.url}?user=guest-1`)));
    expect(statuses.filter((s) => s.status === 101)).toHaveLength(3);
    expect(statuses.filter((s) => s.status === 429)).toHaveLength(3);
    expect((await upgrade(`${server.url}?user=alice`)).status).toBe(101);
    opened[0]!.close();
    await until('the connection is gone', () => server!.stats().connections === 3);
    // The slot is freed when the server's TCP socket closes, a moment after the WebSocket: retry, counting refusals.
    let refused = 0;
    await eventually('guest-1 connects again', async () => (await upgrade(`${server!.url}?user=guest-1`)).status === 101 || (refused++, false), { timeoutMs: 5_000 });
    expect(server.stats().limitedUpgrades).toBe(3 + refused);
  });

  it('caps connections per client address and limits the upgrade rate per address (429 with Retry-After)', async () => {
    server = await startWsServer({ authenticate, maxConnectionsPerAddress: 4, clientAddress: (req) => String(req.headers['x-test-address'] ?? 'none') });
    const a = await Promise.all(Array.from({ length: 6 }, (_, i) => upgrade(`${server!.url}?user=g${i}`, { 'x-test-address': '10.0.0.1' })));
    expect(a.filter((s) => s.status === 101)).toHaveLength(4);
    expect(a.filter((s) => s.status === 429)).toHaveLength(2);
    expect((await upgrade(`${server.url}?user=b`, { 'x-test-address': '10.0.0.2' })).status).toBe(101);
    await server.close({ timeout: 200 });

    server = await startWsServer({ authenticate, upgradeRate: { capacity: 3, refillPerSecond: 0.01 }, clientAddress: (req) => String(req.headers['x-test-address'] ?? 'none') });
    const r = [];
    for (let i = 0; i < 5; i++) r.push(await upgrade(`${server.url}?user=u${i}`, { 'x-test-address': '10.0.0.3' }));
    expect(r.map((x) => x.status)).toEqual([101, 101, 101, 429, 429]);
    expect(Number(r[3]!.retryAfter)).toBeGreaterThan(0);
    // Unauthenticated attempts count too (checked before the token), and another address is unaffected.
    expect((await upgrade(`${server.url}`, { 'x-test-address': '10.0.0.3' })).status).toBe(429);
    expect((await upgrade(`${server.url}?user=v`, { 'x-test-address': '10.0.0.4' })).status).toBe(101);
  });
});
