// Issue 13, items 5, 6, 8: what one address with free guest tokens could do to other users.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';

const SECRET = 'abuse-secret-abuse-secret-abuse-secret!!';
const base = { port: 0, host: '127.0.0.1', symbols: 2, rate: 200, seed: 5, logLevel: 'silent', jwtSecret: SECRET } as const;
const json = { 'content-type': 'application/json' };
const from = (address: string) => ({ 'x-forwarded-for': address });

/** A guest token pair, asked for from `address`. */
async function guest(url: string, address: string): Promise<{ accessToken: string }> {
  const r = await fetch(`${url}/api/auth/guest`, { method: 'POST', headers: from(address) });
  expect(r.status).toBe(200);
  return (await r.json()) as { accessToken: string };
}

async function login(url: string, username: string, address: string): Promise<{ accessToken: string }> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { ...json, ...from(address) }, body: JSON.stringify({ username, password: username }) });
  expect(r.status).toBe(200);
  return (await r.json()) as { accessToken: string };
}

async function withServer<T>(over: Record<string, unknown>, fn: (s: ReferenceServer, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-abuse-'));
  const s = await startReferenceServer({ ...base, dataDir: dir, ...over });
  try {
    return await fn(s, dir);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('guest tokens and rate limits', () => {
  it('limits guest token pairs per address (429 with Retry-After); another address still gets one', () =>
    withServer({ guestRate: 3 }, async (s) => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('203.0.113.7') })).status);
      expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]); // burst: twice the per-minute rate
      expect(statuses.slice(6)).toEqual([429, 429, 429, 429]);
      const r = await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('203.0.113.7') });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await r.json()) as { error: string }).error).toMatch(/too many guest tokens for this address/);
      expect((await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('203.0.113.8') })).status).toBe(200);
    }));

  it('fresh guest tokens do not multiply the rate limit: guests share their address bucket; a signed-in user keeps their own', () =>
    withServer({ rateLimit: 5 }, async (s) => {
      const guests = await Promise.all(Array.from({ length: 10 }, (_, i) => guest(s.url, `198.51.100.${100 + i}`)));
      const t0 = Date.now();
      let ok = 0;
      for (const g of guests) {
        for (let i = 0; i < 5; i++) {
          const r = await fetch(`${s.url}/api/symbols`, { headers: { authorization: `Bearer ${g.accessToken}`, ...from('198.51.100.1') } });
          if (r.status === 200) ok++;
          else expect(r.status).toBe(429);
        }
      }
      const elapsedS = (Date.now() - t0) / 1000;
      // Today's code gave each token its own bucket: 50 of 50. Now: the burst plus what refilled meanwhile.
      expect(ok).toBeLessThanOrEqual(5 + Math.ceil(elapsedS * 5) + 1);
      expect(ok).toBeLessThan(50);
      const trader = await login(s.url, 'trader', '198.51.100.200');
      expect((await fetch(`${s.url}/api/symbols`, { headers: { authorization: `Bearer ${trader.accessToken}`, ...from('198.51.100.1') } })).status).toBe(200);
    }));
});

describe('client addresses behind the ingress (trustProxy)', () => {
  it('believes X-Forwarded-For from a trusted hop (loopback and private ranges by default): audit and limits see the real client', () =>
    withServer({}, async (s, dir) => {
      await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('192.0.2.44') });
      await s.close();
      const entries = readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; ip: string });
      expect(entries.find((e) => e.type === 'guest_login')?.ip).toBe('192.0.2.44');
    }));

  it('ignores X-Forwarded-For when no proxy is trusted (TICKFLOW_TRUST_PROXY=false)', () =>
    withServer({ trustProxy: 'false', guestRate: 1 }, async (s) => {
      expect((await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('192.0.2.1') })).status).toBe(200);
      expect((await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('192.0.2.2') })).status).toBe(200);
      // Both came from 127.0.0.1 whatever the header said: the third is over the burst of 2.
      expect((await fetch(`${s.url}/api/auth/guest`, { method: 'POST', headers: from('192.0.2.3') })).status).toBe(429);
    }));
});

describe('sign-in throttling', () => {
  it('after 5 wrong passwords for a name from one address, that address gets 429 for it (even with the right password); other addresses and names are not locked out', () =>
    withServer({}, async (s, dir) => {
      const login = (username: string, password: string, address: string) =>
        fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { ...json, ...from(address) }, body: JSON.stringify({ username, password }) });
      const wrong: number[] = [];
      for (let i = 0; i < 8; i++) wrong.push((await login('admin', `guess${i}`, '192.0.2.50')).status);
      expect(wrong).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      const locked = await login('admin', 'admin', '192.0.2.50');
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await login('admin', 'admin', '192.0.2.51')).status).toBe(200);
      expect((await login('trader', 'trader', '192.0.2.50')).status).toBe(200);
      // Refused attempts are not compared, so not audited as failures.
      await s.close();
      const failed = readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').filter((l) => l.includes('"login_failed"'));
      expect(failed).toHaveLength(5);
    }));

  it('caps failed sign-ins per address across names (20, then 429)', () =>
    withServer({}, async (s) => {
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) {
        const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { ...json, ...from('192.0.2.60') }, body: JSON.stringify({ username: `user${i}`, password: 'x' }) });
        statuses.push(r.status);
      }
      expect(statuses.filter((x) => x === 401)).toHaveLength(20);
      expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
    }));
});

describe('WebSocket connection caps', () => {
  let s: ReferenceServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-abuse-ws-'));
    s = await startReferenceServer({ ...base, dataDir: dir, wsMaxPerUser: 4, wsMaxPerAddress: 6 });
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (token: string, address: string) =>
    new Promise<{ status: number; ws?: WebSocket }>((resolve) => {
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?token=${token}`, { headers: from(address) });
      ws.on('open', () => resolve({ status: 101, ws }));
      ws.on('unexpected-response', (_q, res) => {
        resolve({ status: res.statusCode ?? 0 });
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });

  it('one guest token cannot take every slot: per-user and per-address caps answer 429', async () => {
    const g1 = await guest(s.url, '192.0.2.80');
    const g2 = await guest(s.url, '192.0.2.81');
    const r1 = await Promise.all(Array.from({ length: 10 }, () => open(g1.accessToken, '192.0.2.70')));
    expect(r1.filter((r) => r.status === 101)).toHaveLength(4);
    expect(r1.filter((r) => r.status === 429)).toHaveLength(6);
    const r2 = await Promise.all(Array.from({ length: 4 }, () => open(g2.accessToken, '192.0.2.70')));
    expect(r2.filter((r) => r.status === 101)).toHaveLength(2); // the address holds 6
    const other = await open((await login(s.url, 'trader', '192.0.2.82')).accessToken, '192.0.2.71');
    expect(other.status).toBe(101);
    for (const r of [...r1, ...r2, other]) r.ws?.terminate();
  });
});
