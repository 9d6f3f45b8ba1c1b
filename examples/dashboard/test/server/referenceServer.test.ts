import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '@tickflow/core';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { eventually } from '@tickflow/test-services/eventually';

const SECRET = 'test-secret-test-secret-test-secret!';
const base = { port: 0, host: '127.0.0.1', symbols: 3, rate: 2000, seed: 7, logLevel: 'silent', jwtSecret: SECRET } as const;

const waitFor = <T>(f: () => Promise<T | undefined>, what: string, ms = 8000): Promise<T> => eventually(what, f, { timeoutMs: ms, intervalMs: 50 });

async function login(url: string, user: string): Promise<{ accessToken: string; refreshToken: string }> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: user }) });
  expect(r.status).toBe(200);
  return (await r.json()) as { accessToken: string; refreshToken: string };
}

describe('reference server (embedded)', () => {
  let dir: string;
  let server: ReferenceServer;
  let viewer: string;
  let trader: string;
  let admin: string;
  const get = (path: string, token?: string) => fetch(`${server.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-server-'));
    server = await startReferenceServer({ ...base, dataDir: dir });
    viewer = (await login(server.url, 'viewer')).accessToken;
    trader = (await login(server.url, 'trader')).accessToken;
    admin = (await login(server.url, 'admin')).accessToken;
    await waitFor(async () => ((await (await get('/api/symbols')).json()) as Candle[]).length === 3 || undefined, 'candles of 3 symbols');
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a port already taken: the second start fails with the address error, leaves no timers or listening sockets behind, and its data dir starts again', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'tickflow-server-taken-'));
    try {
      const port = Number(new URL(server.url).port);
      // Timers and listening sockets of the failed start must not outlive it (the running server's own vary little).
      const count = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;
      const before = { timers: count('Timeout'), servers: count('TCPServerWrap') };
      await expect(startReferenceServer({ ...base, dataDir: dir2, port })).rejects.toThrow(/EADDRINUSE|address already in use/);
      expect(count('TCPServerWrap')).toBeLessThanOrEqual(before.servers);
      expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
      const again = await startReferenceServer({ ...base, dataDir: dir2 });
      expect(again.port).not.toBe(port);
      await again.close();
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('lists symbols with their latest candle, anonymously', async () => {
    const symbols = (await (await get('/api/symbols')).json()) as Candle[];
    expect(symbols.map((c) => c.symbol)).toEqual(['SYM0001', 'SYM0002', 'SYM0003']);
  });

  it('answers 401 without a token and with a bad token', async () => {
    expect((await get('/api/stats/SYM0001')).status).toBe(401);
    const r = await get('/api/stats/SYM0001', 'not-a-jwt');
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toMatch(/authentication required/);
  });

  it('pages raw trades by cursor within bounded limits', async () => {
    const first = (await (await get('/api/historical/SYM0001?limit=5', viewer)).json()) as { trades: { seq: number; symbol: string }[]; nextCursor: number };
    expect(first.trades).toHaveLength(5);
    expect(first.trades.every((t) => t.symbol === 'SYM0001')).toBe(true);
    const second = (await (await get(`/api/historical/SYM0001?limit=5&cursor=${first.nextCursor}`, viewer)).json()) as { trades: { seq: number }[] };
    expect(second.trades[0]!.seq).toBeGreaterThan(first.trades[4]!.seq);
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=-1', 'from=10&to=5']) {
      const r = await get(`/api/historical/SYM0001?${bad}`, viewer);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(/invalid query/);
    }
    expect((await get('/api/historical/NOPE', viewer)).status).toBe(404);
    const iso = (await (await get('/api/historical/SYM0001?from=2000-01-01T00:00:00Z&limit=1', viewer)).json()) as { from: number; trades: unknown[] };
    expect(iso).toMatchObject({ from: Date.UTC(2000, 0, 1) });
    expect(iso.trades).toHaveLength(1);
    expect(((await (await get('/api/historical/SYM0001?from=yesterday', viewer)).json()) as { error: string }).error).toMatch(/from: must be epoch milliseconds or an ISO-8601 time \(got "yesterday"\)/);
    const empty = (await (await get('/api/historical/SYM0001?from=0&to=1', viewer)).json()) as { trades: unknown[]; nextCursor: null };
    expect(empty).toMatchObject({ trades: [], nextCursor: null });
  });

  it('serves candles of every timeframe and caches settled ranges', async () => {
    for (const tf of ['1m', '5m', '15m', '1h', '1d']) {
      const body = (await (await get(`/api/aggregates/SYM0002/${tf}`, viewer)).json()) as { candles: Candle[] };
      expect(body.candles.length, tf).toBeGreaterThan(0);
      expect(body.candles[0]).toMatchObject({ symbol: 'SYM0002', timeframe: tf });
    }
    const bad = await get('/api/aggregates/SYM0002/2h', viewer);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/timeframe/);
    expect((await get('/api/aggregates/SYM0002/1m?limit=5001', viewer)).status).toBe(400);
    const old = '/api/aggregates/SYM0002/1m?from=0&to=1000';
    expect((await get(old, viewer)).headers.get('x-cache')).toBe('miss');
    expect((await get(old, viewer)).headers.get('x-cache')).toBe('hit');
    expect((await get('/api/aggregates/SYM0002/1m', viewer)).headers.get('x-cache')).toBe('bypass');
    // A settled range with candles (the demo history): the hit is the stored encoding of the miss's body, sent as JSON.
    const settled = `/api/aggregates/SYM0002/1m?from=0&to=${Math.floor((Date.now() - 120_000) / 60_000) * 60_000}`;
    const miss = await get(settled, viewer);
    const hit = await get(settled, viewer);
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    for (const r of [miss, hit]) expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const [missBody, hitBody] = [await miss.text(), await hit.text()];
    expect(hitBody).toBe(missBody);
    expect((JSON.parse(hitBody) as { candles: Candle[] }).candles.length).toBeGreaterThan(100);
  });

  it('serves 24h stats and volume profiles', async () => {
    const stats = (await (await get('/api/stats/SYM0003', viewer)).json()) as Record<string, number>;
    expect(stats).toMatchObject({ symbol: 'SYM0003' });
    expect(stats.high24h).toBeGreaterThanOrEqual(stats.low24h!);
    expect(stats.volume24h).toBeGreaterThan(0);
    expect(stats.vwap24h).toBeGreaterThanOrEqual(stats.low24h!);
    expect((await get('/api/stats/NOPE', viewer)).status).toBe(404);
    const prof = (await (await get('/api/profile/SYM0003/1m', viewer)).json()) as { profiles: { poc: number }[] };
    expect(prof.profiles.length).toBeGreaterThan(0);
    expect((await get('/api/profile/SYM0003/1h', viewer)).status).toBe(400);
  });

  it('logs in, refreshes and refuses wrong passwords (audited)', async () => {
    const bad = await post('/api/auth/login', { username: 'trader', password: 'nope' });
    expect(bad.status).toBe(401);
    expect((await post('/api/auth/login', { username: 'trader' })).status).toBe(400);
    const pair = await login(server.url, 'viewer');
    const refreshed = await post('/api/auth/refresh', { refreshToken: pair.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await post('/api/auth/refresh', { refreshToken: pair.accessToken })).status).toBe(401);
    const audit = readFileSync(join(dir, 'audit.ndjson'), 'utf8');
    expect(audit).toMatch(/"type":"login_failed","user":"trader"/);
    expect(audit).toMatch(/"type":"login","user":"viewer"/);
  });

  it('checks roles per route: 403 for a viewer placing an order, audited', async () => {
    const r = await post('/api/orders', { symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 1 }, viewer);
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: string }).error).toMatch(/needs the trader role/);
    expect((await get('/api/audit', trader)).status).toBe(403);
    const audit = (await (await get('/api/audit?limit=1000', admin)).json()) as { entries: { type: string; user: string }[] };
    expect(audit.entries.some((e) => e.type === 'forbidden' && e.user === 'viewer')).toBe(true);
  });

  it('fills market orders at the last price, rests limit orders and values the portfolio', async () => {
    for (const [body, re] of [
      [{ symbol: 'SYM0001', side: 'buy', type: 'market', quantity: -1 }, /quantity/],
      [{ symbol: 'SYM0001', side: 'buy', type: 'limit', quantity: 1 }, /limitPrice is required/],
      [{ symbol: 'SYM0001', side: 'hold', type: 'market', quantity: 1 }, /side/],
      [{ symbol: 'NOPE', side: 'buy', type: 'market', quantity: 1 }, /unknown symbol/],
      [{ symbol: 'SYM0001', side: 'sell', type: 'market', quantity: 5 }, /cannot sell 5 SYM0001: 0 held/],
      [{ symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 1e8 }, /insufficient cash/],
    ] as const) {
      const r = await post('/api/orders', body, trader);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(re);
    }
    const buy = (await (await post('/api/orders', { symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 10 }, trader)).json()) as { status: string; fillPrice: number };
    expect(buy.status).toBe('filled');
    const resting = await post('/api/orders', { symbol: 'SYM0001', side: 'buy', type: 'limit', quantity: 1, limitPrice: 0.01 }, trader);
    expect(resting.status).toBe(201);
    expect(((await resting.json()) as { status: string }).status).toBe('open');
    // A sell limit just under the market crosses on the next trades.
    const sell = (await (await post('/api/orders', { symbol: 'SYM0001', side: 'sell', type: 'limit', quantity: 4, limitPrice: buy.fillPrice * 0.5 }, trader)).json()) as { status: string };
    expect(sell.status).toBe('filled');
    const orders = (await (await get('/api/orders', trader)).json()) as { orders: { status: string }[] };
    expect(orders.orders.map((o) => o.status)).toEqual(['filled', 'open', 'filled']);
    const pf = (await (await get('/api/portfolio', trader)).json()) as { cash: number; positions: { symbol: string; quantity: number; averageCost: number }[]; performance: { maxDrawdown: number } };
    expect(pf.positions).toEqual([expect.objectContaining({ symbol: 'SYM0001', quantity: 6, averageCost: buy.fillPrice })]);
    expect(pf.performance.maxDrawdown).toBeGreaterThanOrEqual(0);
    expect((await get('/api/portfolio', viewer)).status).toBe(403);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/tickflow_trades_ingested_total \d+/);
    expect(metrics).toMatch(/tickflow_windows_emitted_total\{kind="candles"\} \d+/);
    expect(metrics).toMatch(/tickflow_http_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/tickflow_ws_connections 0/);
    const api = (await (await get('/api/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(api.openapi).toMatch(/^3\./);
    expect(Object.keys(api.paths)).toEqual(expect.arrayContaining(['/api/historical/{symbol}', '/api/aggregates/{symbol}/{timeframe}', '/api/orders', '/api/portfolio', '/api/auth/login']));
    expect(await (await get('/api/docs/')).text()).toMatch(/swagger-ui/i);
    expect((await get('/nope')).status).toBe(404);
    expect(await (await get('/')).text()).toMatch(/<title>tickflow live<\/title>/);
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After past the per-user budget, per IP for anonymous requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-rl-'));
    const server = await startReferenceServer({ ...base, dataDir: dir, rateLimit: 3 });
    try {
      const ann = (await login(server.url, 'viewer')).accessToken; // logins spend the IP's tokens
      const bob = (await login(server.url, 'trader')).accessToken;
      const burst = async (token?: string) => {
        const out: { status: number; retryAfter: string | null }[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await fetch(`${server.url}/api/symbols`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
          out.push({ status: r.status, retryAfter: r.headers.get('retry-after') });
        }
        return out;
      };
      const a = await burst(ann);
      // 10 requests outrun a 3/s bucket unless they take over 2 s.
      expect(a.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
      const limited = a.find((r) => r.status === 429);
      expect(Number(limited?.retryAfter)).toBeGreaterThanOrEqual(1);
      // Another user has a bucket of their own; anonymous requests share the IP's (two logins spent 2 of its 3 tokens).
      expect((await burst(bob)).slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
      expect((await burst()).some((r) => r.status === 429)).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/tickflow_http_rate_limited_total [1-9]/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
