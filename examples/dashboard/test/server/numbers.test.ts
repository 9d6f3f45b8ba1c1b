import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { untilTrading } from '../waitUntil.js';

// What a newcomer reads in the answers: money in cents without float noise,
// no far-future `to`, a 401 that names the guest route.

const cents = /^-?\d+(\.\d{1,2})?$/;

describe('numbers and messages in API answers', () => {
  let dir: string;
  let server: ReferenceServer;
  let token: string;
  const call = async (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-numbers-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: 'numbers-secret-numbers-secret-numbers!', symbols: 3, rate: 500, seed: 7 });
    await untilTrading(server, 'SYM0002');
    const r = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"trader","password":"trader"}' });
    token = ((await r.json()) as { accessToken: string }).accessToken;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps cash, equity and P&L in cents after many fills', async () => {
    for (let i = 0; i < 15; i++) {
      const r = await call('/api/orders', { method: 'POST', body: JSON.stringify({ symbol: i % 2 ? 'SYM0001' : 'SYM0002', side: 'buy', type: 'market', quantity: 7 + i }) });
      expect(r.status).toBe(201);
      await new Promise((r) => setTimeout(r, 20)); // pacing on purpose: fills at the prices of different moments
    }
    const sell = await call('/api/orders', { method: 'POST', body: JSON.stringify({ symbol: 'SYM0002', side: 'sell', type: 'market', quantity: 5 }) });
    expect(sell.status).toBe(201);
    const pf = (await (await call('/api/portfolio')).json()) as Record<string, unknown> & { positions: Record<string, number>[] };
    for (const k of ['cash', 'equity', 'realisedPnl', 'unrealisedPnl']) expect(String(pf[k]), k).toMatch(cents);
    for (const p of pf.positions) for (const k of ['marketValue', 'unrealisedPnl', 'realisedPnl']) expect(String(p[k]), k).toMatch(cents);
  });

  it('states amounts in refusals without float noise', async () => {
    const r = await call('/api/orders', { method: 'POST', body: JSON.stringify({ symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 987_654_321 }) });
    expect(r.status).toBe(400);
    const { error } = (await r.json()) as { error: string };
    const [, cost, available] = /costs (\S+), available cash is (\S+) /.exec(error) ?? [];
    expect(cost, error).toMatch(cents);
    expect(available, error).toMatch(cents);
  });

  it('echoes the time of the answer as `to` when none was given', async () => {
    const before = Date.now();
    for (const path of ['/api/aggregates/SYM0001/1m', '/api/historical/SYM0001']) {
      const body = (await (await call(path)).json()) as { to: number };
      expect(body.to, path).toBeGreaterThanOrEqual(before);
      expect(body.to, path).toBeLessThanOrEqual(Date.now());
    }
  });

  it('answers 401 naming both ways to get a token', async () => {
    const r = await fetch(`${server.url}/api/aggregates/SYM0001/1m`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toMatch(/POST \/api\/auth\/login.*POST \/api\/auth\/guest/);
  });
});
