import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Candle } from '@tickflow/core';
import { createClient } from '@tickflow/ws-server/client';
import type { TickerRow } from '@tickflow/ws-server/client';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { untilTrading } from '../waitUntil.js';

const SECRET = 'guest-secret-guest-secret-guest-secret!';
const base = { port: 0, host: '127.0.0.1', symbols: 2, rate: 1000, seed: 5, logLevel: 'silent', jwtSecret: SECRET } as const;

interface Pair {
  accessToken: string;
  refreshToken: string;
  role: string;
  expiresIn: number;
}

function subjectOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('guest access (POST /api/auth/guest)', () => {
  let dir: string;
  let server: ReferenceServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-guest-'));
    server = await startReferenceServer({ ...base, dataDir: dir });
    await untilTrading(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues a viewer token pair for a new guest subject each time, audited with the address', async () => {
    const a = await fetch(`${server.url}/api/auth/guest`, { method: 'POST' });
    const b = await fetch(`${server.url}/api/auth/guest`, { method: 'POST' });
    expect(a.status).toBe(200);
    const pa = (await a.json()) as Pair;
    const pb = (await b.json()) as Pair;
    expect(pa.role).toBe('viewer');
    expect(pa.expiresIn).toBeGreaterThan(0);
    expect(subjectOf(pa.accessToken)).toMatch(/^guest-[0-9a-f]{8}$/);
    expect(subjectOf(pb.accessToken)).toMatch(/^guest-[0-9a-f]{8}$/);
    expect(subjectOf(pa.accessToken)).not.toBe(subjectOf(pb.accessToken));
    const audit = readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; user: string; ip: string });
    const guests = audit.filter((e) => e.type === 'guest_login');
    expect(guests.map((e) => e.user)).toEqual([subjectOf(pa.accessToken), subjectOf(pb.accessToken)]);
    expect(guests[0]!.ip).toBe('127.0.0.1');
  });

  it('lets a guest read market data but not trade, and refreshes its token', async () => {
    const pair = (await (await fetch(`${server.url}/api/auth/guest`, { method: 'POST' })).json()) as Pair;
    const agg = await fetch(`${server.url}/api/aggregates/SYM0001/1m`, { headers: bearer(pair.accessToken) });
    expect(agg.status).toBe(200);
    expect(((await agg.json()) as { candles: Candle[] }).candles[0]).toMatchObject({ symbol: 'SYM0001', timeframe: '1m' });
    const order = await fetch(`${server.url}/api/orders`, {
      method: 'POST',
      headers: { ...bearer(pair.accessToken), 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 1 }),
    });
    expect(order.status).toBe(403);
    expect(((await order.json()) as { error: string }).error).toMatch(/needs the trader role, "guest-[0-9a-f]{8}" is viewer/);
    const refreshed = await fetch(`${server.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: pair.refreshToken }) });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as Pair;
    expect(next.role).toBe('viewer');
    expect(subjectOf(next.accessToken)).toBe(subjectOf(pair.accessToken));
  });

  it('opens the WebSocket with a guest token (the page streams before login)', async () => {
    const pair = (await (await fetch(`${server.url}/api/auth/guest`, { method: 'POST' })).json()) as Pair;
    const client = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, token: pair.accessToken, WebSocket: WebSocket as never, reconnect: false });
    try {
      const rows = await new Promise<readonly TickerRow[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no ticker row over the WebSocket within 5 s')), 5000);
        client.subscribe('ticker', (u) => {
          if (u.rows.length > 0) {
            clearTimeout(timer);
            resolve(u.rows);
          }
        });
      });
      expect(rows[0]!.symbol).toMatch(/^SYM000[12]$/);
      expect(rows[0]!.last).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});

describe('guest access turned off', () => {
  it('answers 403 with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-noguest-'));
    const server = await startReferenceServer({ ...base, dataDir: dir, guestAccess: false });
    try {
      const r = await fetch(`${server.url}/api/auth/guest`, { method: 'POST' });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: string }).error).toMatch(/guest access is turned off.*sign in with POST \/api\/auth\/login/);
      // Logins still work.
      const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"viewer","password":"viewer"}' });
      expect(login.status).toBe(200);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
