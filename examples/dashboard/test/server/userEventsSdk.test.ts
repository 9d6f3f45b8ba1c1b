// The client SDK's user-event emitter against the reference server
// (embedded): batches reach POST /api/events, rejections come back with
// their reason, events wait for a token and survive a failed request.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserEventEmitter } from '@tickflow/ws-server/client';
import type { RejectedEvent, UserEventInput } from '@tickflow/ws-server/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('createUserEventEmitter (client SDK)', () => {
  let server: ReferenceServer;
  let dir: string;
  let viewer = '';
  let admin = '';

  const total = async (): Promise<{ total: number; totals: Record<string, number>; recent: { sessionId: string; client: string }[] }> => {
    const r = await fetch(`${server.url}/api/events/stats?recent=100`, { headers: { authorization: `Bearer ${admin}` } });
    return (await r.json()) as never;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-uev-sdk-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 50, history: '0', logLevel: 'silent', jwtSecret: SECRET, dataDir: dir });
    const login = async (u: string) => ((await (await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: u }) })).json()) as { accessToken: string }).accessToken;
    viewer = await login('viewer');
    admin = await login('admin');
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends batches of at most maxBatch, stamps session, time and id, and reports rejections with the reason', async () => {
    const errors: { message: string; rejected?: readonly RejectedEvent[] }[] = [];
    let tokenReady = false;
    const events = createUserEventEmitter({ url: `${server.url}/api/events`, token: () => (tokenReady ? viewer : undefined), client: 'node', appVersion: '9.9.9', maxBatch: 4, flushInterval: 60_000, onError: (e) => errors.push(e) });
    events.emit({ type: 'session_start', userAgent: 'vitest' });
    for (const symbol of ['AAPL', 'MSFT', 'IBM']) events.emit({ type: 'symbol_selected', symbol, source: 'search' });
    events.emit({ type: 'timeframe_changed', to: '15m' });
    events.emit({ type: 'symbol_selected', symbol: 'TOO-LONG-'.repeat(5) } as UserEventInput);
    // No token yet: nothing is sent, nothing lost.
    await events.flush();
    expect(events.stats).toMatchObject({ queued: 6, sent: 0 });
    tokenReady = true;
    await events.flush();
    expect(events.stats).toMatchObject({ queued: 0, sent: 5, rejected: 1, dropped: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.rejected).toEqual([{ index: 1, reason: 'symbol: symbol must be at most 32 characters' }]);
    const s = await until(async () => {
      const x = await total();
      return x.total === 5 ? x : undefined;
    }, 'the 5 accepted events counted');
    expect(s.totals).toMatchObject({ session_start: 1, symbol_selected: 3, timeframe_changed: 1 });
    expect(s.recent.every((e) => e.sessionId === events.sessionId && e.client === 'node')).toBe(true);
    await events.close();
  });

  it('splits batches larger than the server takes (64 KiB), multi-byte text included', async () => {
    const before = (await total()).totals.error ?? 0;
    const errors: string[] = [];
    const events = createUserEventEmitter({ url: `${server.url}/api/events`, token: viewer, maxBatch: 40, flushInterval: 60_000, onError: (e) => errors.push(e.message) });
    // 40 × ~4.5 KB of UTF-8 in ~1.6 K characters: the character count passes, the server's byte limit (413) splits it.
    for (let i = 0; i < 40; i++) events.emit({ type: 'error', message: `wide ${i}`, stack: '✗'.repeat(1_500) });
    await events.flush();
    expect(events.stats).toMatchObject({ queued: 0, sent: 40, rejected: 0, dropped: 0 });
    expect(errors).toEqual([]);
    await until(async () => ((await total()).totals.error === before + 40 ? true : undefined), 'the 40 wide events counted');
    await events.close();
  });

  it('keeps events queued when the server cannot be reached, and drops the oldest beyond maxQueue', async () => {
    const errors: string[] = [];
    const events = createUserEventEmitter({ url: `http://127.0.0.1:${await closedPort()}/api/events`, token: viewer, maxBatch: 2, maxQueue: 3, flushInterval: 60_000, onError: (e) => errors.push(e.message) });
    events.emit({ type: 'page_view', path: '/a' });
    await events.flush();
    expect(events.stats).toMatchObject({ queued: 1, sent: 0, failedRequests: 1 });
    expect(errors[0]).toMatch(/sending 1 events failed .*kept for the next flush/);
    for (const p of ['/b', '/c', '/d']) events.emit({ type: 'page_view', path: p });
    expect(events.stats).toMatchObject({ queued: 3, dropped: 1 });
    await events.close();
  });
});
