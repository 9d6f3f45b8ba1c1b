// Sessions behind refresh tokens: rotation with reuse detection, logout, listing and revocation, and the
// WebSocket of a revoked session closed within seconds. Embedded (memory) and full mode (real Redis, two nodes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, redisQuery, startRedis } from '@tickflow/test-services';
import type { RunningService } from '@tickflow/test-services';
import { CloseCode } from '@tickflow/ws-server';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';

const SECRET = 'sessions-secret-sessions-secret-sessions!';
const base = { port: 0, host: '127.0.0.1', symbols: 1, rate: 50, seed: 3, logLevel: 'silent', jwtSecret: SECRET } as const;
const json = { 'content-type': 'application/json' };

interface Pair {
  accessToken: string;
  refreshToken: string;
}

const login = async (url: string, who = 'trader'): Promise<Pair> => {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: who, password: who }) });
  expect(r.status).toBe(200);
  return (await r.json()) as Pair;
};
const refresh = (url: string, refreshToken: string) => fetch(`${url}/api/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refreshToken }) });
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const port = (r: RunningService) => Number(new URL(r.url).port);
const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string; gen?: number };

/** Opens a WebSocket with `token`; resolves once open, with a promise of its close code. */
async function socket(url: string, token: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${token}`);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);
}

/** The same checks against one node (embedded) or two nodes sharing Redis. */
function sessionSuite(name: string, start: () => Promise<{ a: ReferenceServer; b: ReferenceServer; stop: () => Promise<void>; redis?: RunningService }>) {
  describe(name, () => {
    let a: ReferenceServer;
    let b: ReferenceServer;
    let stop: () => Promise<void>;
    let redis: RunningService | undefined;
    beforeAll(async () => {
      ({ a, b, stop, redis } = await start());
    }, 120_000);
    afterAll(async () => stop());

    it('a refresh token works once: the rotated one works, the old one is reuse and ends the session (its newer tokens too)', async () => {
      const p0 = await login(a.url);
      const r1 = await refresh(b.url, p0.refreshToken);
      expect(r1.status).toBe(200);
      const p1 = (await r1.json()) as Pair;
      expect(claims(p1.refreshToken).gen).toBe(1);
      expect(claims(p1.refreshToken).sid).toBe(claims(p0.refreshToken).sid);
      const reuse = await refresh(a.url, p0.refreshToken);
      expect(reuse.status).toBe(401);
      expect(((await reuse.json()) as { error: string }).error).toMatch(/already used: the session is ended/);
      // The thief's and the owner's newer tokens are dead too.
      expect((await refresh(b.url, p1.refreshToken)).status).toBe(401);
      // active() caches a positive answer for 2 s: the ended session's access token is refused once that passes.
      await eventually('the access token refused', async () => (await fetch(`${a.url}/api/portfolio`, { headers: auth(p1.accessToken) })).status === 401, { timeoutMs: 10_000, intervalMs: 200 });
      if (redis !== undefined) expect(await redisQuery(port(redis), ['EXISTS', `tickflow:session:${claims(p0.refreshToken).sid}`])).toBe(0);
    });

    it('stores the session with the 24 h idle TTL and lists it; logout ends it and closes its WebSocket on the other node', async () => {
      const p = await login(a.url);
      const sid = claims(p.accessToken).sid;
      if (redis !== undefined) {
        const ttl = (await redisQuery(port(redis), ['TTL', `tickflow:session:${sid}`])) as number;
        expect(ttl).toBeGreaterThan(86_000);
        expect(ttl).toBeLessThanOrEqual(86_400);
      }
      const listed = (await (await fetch(`${b.url}/api/auth/sessions`, { headers: auth(p.accessToken) })).json()) as { sessions: { id: string; current: boolean }[] };
      expect(listed.sessions.find((s) => s.id === sid)).toMatchObject({ current: true });
      const s = await socket(b.url, p.accessToken);
      const out = await fetch(`${a.url}/api/auth/logout`, { method: 'POST', headers: auth(p.accessToken) });
      expect(out.status).toBe(204);
      expect(await within(s.closed, 5_000, 'the WebSocket of the logged-out session closes')).toBe(CloseCode.SESSION_REVOKED);
      expect((await refresh(b.url, p.refreshToken)).status).toBe(401);
      // A new WebSocket with the old access token is refused.
      await eventually('the WebSocket upgrade refused with 401', () => socket(b.url, p.accessToken).then((s) => (s.ws.close(), false), (e: unknown) => /401/.test(String(e))), { timeoutMs: 10_000, intervalMs: 200 });
    });

    it('DELETE /api/auth/sessions/:id revokes one of your sessions (not someone else\'s); DELETE /api/auth/sessions ends them all', async () => {
      const one = await login(a.url);
      const two = await login(b.url);
      const stranger = await login(a.url, 'viewer');
      const ws2 = await socket(a.url, two.accessToken);
      expect((await fetch(`${a.url}/api/auth/sessions/${claims(two.accessToken).sid}`, { method: 'DELETE', headers: auth(stranger.accessToken) })).status).toBe(404);
      expect((await fetch(`${b.url}/api/auth/sessions/${claims(two.accessToken).sid}`, { method: 'DELETE', headers: auth(one.accessToken) })).status).toBe(204);
      expect(await within(ws2.closed, 5_000, 'the revoked session\'s WebSocket closes')).toBe(CloseCode.SESSION_REVOKED);
      expect((await refresh(a.url, two.refreshToken)).status).toBe(401);
      expect((await refresh(a.url, one.refreshToken)).status).toBe(200); // the other session lives
      const all = await fetch(`${a.url}/api/auth/sessions`, { method: 'DELETE', headers: auth((await login(b.url)).accessToken) });
      expect(((await all.json()) as { ended: number }).ended).toBeGreaterThanOrEqual(2);
      expect((await refresh(a.url, (await login(a.url, 'viewer')).refreshToken)).status).toBe(200); // another user's sessions live
    });
  });
}

sessionSuite('sessions, embedded mode (memory)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-sessions-'));
  const a = await startReferenceServer({ ...base, dataDir: dir });
  return {
    a,
    b: a,
    stop: async () => {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

sessionSuite('sessions, full mode (real Redis, two nodes)', async () => {
  const redis = await startRedis();
  const dirA = mkdtempSync(join(tmpdir(), 'tickflow-sessions-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'tickflow-sessions-b-'));
  const a = await startReferenceServer({ ...base, dataDir: dirA, redisUrl: redis.url });
  const b = await startReferenceServer({ ...base, dataDir: dirB, redisUrl: redis.url });
  return {
    a,
    b,
    redis,
    stop: async () => {
      await a.close();
      await b.close();
      await redis.stop();
      rmSync(dirA, { recursive: true, force: true });
      rmSync(dirB, { recursive: true, force: true });
    },
  };
});
