// The analytics routes in embedded mode: the correlation matrix of the live
// synthetic feed checked against a brute-force Pearson of the trades the
// server holds, its WebSocket channel, input validation, and daily bars,
// volumes and the report from the in-process candles checked against sums
// of the raw trades.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Trade } from '@tickflow/core';
import { pipeline, fromArray } from '@tickflow/core';
import { aggregationOperators } from '../../src/aggregation.js';
import { buildReport, dailyFromMemory, hourlyFromMemory, movesOf, volumeBySymbol } from '../../src/server/analyticsReports.js';
import type { CorrelationAnswer } from '../../src/server/liveCorrelation.js';
import { LiveCorrelation, correlationAnswer } from '../../src/server/liveCorrelation.js';
import { LIVE_TIMING } from '../../src/server/marketFeed.js';
import { InMemoryMarketStore } from '../../src/server/marketStore.js';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';
import { analyticsTrades } from './analyticsTrades.js';
import { pearsonOfTrades } from './correlationOracle.js';

const SECRET = 'analytics-secret-analytics-secret-42!';
const INTERVAL = 1_000;
const LOOKBACK = 8;

describe('analytics routes (embedded)', () => {
  let dir: string;
  let server: ReferenceServer;
  let token: string;
  const get = (path: string, t: string | undefined = token) => fetch(`${server.url}${path}`, { headers: t === undefined ? {} : { authorization: `Bearer ${t}` } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-analytics-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 4, rate: 400, seed: 11, history: '0', logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, correlationInterval: '1s', correlationLookback: LOOKBACK });
    const r = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
    token = ((await r.json()) as { accessToken: string }).accessToken;
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every trade the server holds (its rings keep far more than this test produces). */
  async function heldTrades(): Promise<Trade[]> {
    const out: Trade[] = [];
    for (const symbol of await server.store.symbols()) out.push(...(await server.store.trades({ symbol, from: 0, to: Number.MAX_SAFE_INTEGER, cursor: 0, limit: 1_000_000 })).trades);
    return out;
  }

  it('serves the correlation matrix of the live trades, equal to a brute-force Pearson of the same trades', async () => {
    // Wait for a matrix whose every pair has a full lookback.
    const m = await until(async () => {
      const r = await get('/api/correlation?symbols=SYM0001,SYM0002,SYM0003,SYM0004');
      if (r.status !== 200) return undefined;
      const body = (await r.json()) as CorrelationAnswer;
      return body.counts.every((c) => c === LOOKBACK) ? body : undefined;
    }, 'a matrix with a full lookback', 30_000);
    expect(m.interval).toBe('1s');
    expect(m.lookback).toBe(LOOKBACK);
    expect(m.end - m.start).toBe(INTERVAL);
    expect(m.symbols).toEqual(['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004']);
    expect(m.missing).toEqual([]);
    const trades = await heldTrades();
    for (let i = 0; i < 4; i++) {
      expect(m.values[i]![i]).toBe(1);
      for (let j = 0; j < 4; j++) {
        expect(m.values[i]![j]).toBe(m.values[j]![i]);
        if (i === j) continue;
        const oracle = pearsonOfTrades(trades, m.symbols[i]!, m.symbols[j]!, { interval: INTERVAL, lookback: LOOKBACK, end: m.end });
        expect(oracle.returns).toBe(LOOKBACK);
        // Undefined (a flat return series over the lookback) is null in JSON, NaN in the oracle.
        if (Number.isNaN(oracle.r)) {
          expect(m.values[i]![j]).toBeNull();
          continue;
        }
        expect(m.values[i]![j]).toBeCloseTo(oracle.r, 9);
        expect(Math.abs(m.values[i]![j]!)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('answers a subset in the order asked, names symbols it does not hold, and caps and validates the query', async () => {
    const r = await get('/api/correlation?symbols=SYM0003,NOPE,SYM0001');
    expect(r.status).toBe(200);
    const m = (await r.json()) as CorrelationAnswer;
    expect(m.symbols).toEqual(['SYM0003', 'SYM0001']);
    expect(m.missing).toEqual(['NOPE']);
    expect(m.values.map((row) => row.length)).toEqual([2, 2]);
    const many = Array.from({ length: 51 }, (_, i) => `S${i}`).join(',');
    const bad = await get(`/api/correlation?symbols=${many}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/at most 50 symbols/);
    expect((await get('/api/correlation?lookback=1')).status).toBe(400);
    const other = await get('/api/correlation?lookback=30');
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: string }).error).toMatch(/computes lookback 8/);
    expect((await fetch(`${server.url}/api/correlation`)).status).toBe(401);
  });

  it('publishes each new matrix on the correlation WebSocket channel', async () => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws/correlation?symbols=SYM0001,SYM0002&token=${token}`);
    const frames: CorrelationAnswer[] = [];
    socket.on('message', (d) => frames.push(JSON.parse(String(d)) as CorrelationAnswer));
    await until(async () => (frames.length >= 3 ? true : undefined), 'three correlation frames', 15_000);
    socket.close();
    // The first frame is the latest matrix at connect, then one per closed interval, in order.
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.end).toBeGreaterThan(frames[i - 1]!.end);
    for (const f of frames) {
      expect(f.symbols).toEqual(['SYM0001', 'SYM0002']);
      expect(f.values[0]![0]).toBe(1);
      expect(f.values[0]![1]).toBe(f.values[1]![0]);
    }
    const refused = new WebSocket(`${server.url.replace('http', 'ws')}/ws/correlation`);
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it('never answers 500 to arbitrary query strings on the analytics routes', async () => {
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.double().map(String), fc.constantFrom('', '2024-01-19', '2024-13-45T99:00', 'NaN', '-1', '1e308', 'SYM0001,SYM0001', ',,,'));
    const query = fc.dictionary(fc.constantFrom('symbols', 'symbol', 'lookback', 'from', 'to', 'limit', 'x'), value, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/correlation', '/api/daily', '/api/volume', '/api/report'), query, async (path, q) => {
        const r = await get(`${path}?${new URLSearchParams(q).toString()}`);
        expect(r.status, `${path} ${JSON.stringify(q)}`).toBeLessThan(500);
        await r.arrayBuffer();
      }),
      { numRuns: 150 },
    );
  });

  it('closes a correlation socket when its session ends (4002), as /ws does', async () => {
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
    const own = ((await login.json()) as { accessToken: string }).accessToken;
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws/correlation?token=${own}`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    expect((await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${own}` } })).status).toBe(204);
    expect(await closed).toBe(4002);
  });

  it('answers daily bars, volumes and the report from the in-process candles, equal to sums of the raw trades', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const vol = await get(`/api/volume?from=${hour}`);
    expect(vol.status).toBe(200);
    const v = (await vol.json()) as { symbols: { symbol: string; volume: number; trades: number }[] };
    expect(v.symbols.map((s) => s.symbol)).toEqual(['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004']);
    const daily = await get(`/api/daily?symbol=SYM0001&from=${day}`);
    expect(daily.status).toBe(200);
    const d = (await daily.json()) as { days: { start: number; open: number; high: number; low: number; trades: number }[] };
    expect(d.days).toHaveLength(1);
    expect(d.days[0]!.start).toBe(day);
    const report = await get(`/api/report?from=${hour}&limit=2`);
    expect(report.status).toBe(200);
    const rep = (await report.json()) as { symbols: number; topMovers: unknown[]; mostTradedByVolume: unknown[]; vwap: { symbol: string; vwap: number }[] };
    expect(rep.symbols).toBe(4);
    expect(rep.topMovers).toHaveLength(2);
    expect(rep.mostTradedByVolume).toHaveLength(2);
    expect(rep.vwap).toHaveLength(4);
    // The live figures move with every trade: the exact sums are checked below on a fixed trade set through the same code.
    for (const x of rep.vwap) expect(x.vwap).toBeGreaterThan(0);
    expect((await get('/api/daily?symbol=SYM0001&from=10&to=5')).status).toBe(400);
    expect((await get('/api/daily')).status).toBe(400);
    expect((await get('/api/report?limit=0')).status).toBe(400);
  });
});

describe('embedded daily bars, volumes and report', () => {
  const H = 3_600_000;
  const D = 86_400_000;
  const T0 = Date.UTC(2024, 0, 18);

  /** Three symbols over two days and a half, with buys and sells, out of order within a second. */
  const trades = (): Trade[] => analyticsTrades({ t0: T0, seed: 5, step: 97_000 });

  async function storeOf(list: Trade[]): Promise<InMemoryMarketStore> {
    const store = new InMemoryMarketStore({ bars: 10_000 });
    const [k, w] = aggregationOperators({ timeframes: ['1m', '5m', '15m', '1h', '1d'], kind: 'candles' });
    await pipeline(fromArray(list)).pipe(k, w).to({ write: (b) => void b.forEach((c) => store.upsertCandle(c)) }).run();
    store.addTrades(list);
    return store;
  }

  it('equal sums of the trades per UTC day and per symbol over hours, and a report ranked from them', async () => {
    const list = trades();
    const store = await storeOf(list);
    const days = await dailyFromMemory(store, { symbol: 'AAA', from: T0, to: T0 + 3 * D, limit: 10 });
    expect(days.map((x) => x.start)).toEqual([T0, T0 + D, T0 + 2 * D]);
    for (const x of days) {
      const inDay = list.filter((t) => t.symbol === 'AAA' && t.ts >= x.start && t.ts < x.end).sort((a, b) => a.ts - b.ts);
      expect(x.open).toBe(inDay[0]!.price);
      expect(x.close).toBe(inDay.at(-1)!.price);
      expect(x.high).toBe(Math.max(...inDay.map((t) => t.price)));
      expect(x.low).toBe(Math.min(...inDay.map((t) => t.price)));
      expect(x.volume).toBe(inDay.reduce((s, t) => s + t.size, 0));
      expect(x.trades).toBe(inDay.length);
      expect(x.notional).toBeCloseTo(inDay.reduce((s, t) => s + t.price * t.size, 0), 6);
      expect(x.buyVolume).toBe(inDay.filter((t) => t.side === 'buy').reduce((s, t) => s + t.size, 0));
    }
    // Hours starting in [from, to): 06:30 starts the range at 07:00.
    const from = T0 + D + 6.5 * H;
    const to = T0 + 2 * D + 3 * H;
    const hourly = await hourlyFromMemory(store, { from, to });
    const volumes = volumeBySymbol(hourly);
    const inRange = list.filter((t) => t.ts >= T0 + D + 7 * H && t.ts < to);
    expect(volumes.map((x) => x.symbol)).toEqual(['AAA', 'BBB']);
    for (const x of volumes) {
      const own = inRange.filter((t) => t.symbol === x.symbol);
      expect(x.volume).toBe(own.reduce((s, t) => s + t.size, 0));
      expect(x.trades).toBe(own.length);
      expect(x.notional).toBeCloseTo(own.reduce((s, t) => s + t.price * t.size, 0), 6);
    }
    const report = buildReport({ from, to, volumes, moves: movesOf(hourly), limit: 1 });
    const change = (s: string) => {
      const own = inRange.filter((t) => t.symbol === s).sort((a, b) => a.ts - b.ts);
      return ((own.at(-1)!.price - own[0]!.price) / own[0]!.price) * 100;
    };
    const top = Math.abs(change('AAA')) >= Math.abs(change('BBB')) ? 'AAA' : 'BBB';
    expect(report.topMovers).toHaveLength(1);
    expect(report.topMovers[0]!.symbol).toBe(top);
    expect(report.topMovers[0]!.changePct).toBeCloseTo(change(top), 9);
    const vol = (s: string) => inRange.filter((t) => t.symbol === s).reduce((a, t) => a + t.size, 0);
    expect(report.mostTradedByVolume[0]!.symbol).toBe(vol('AAA') >= vol('BBB') ? 'AAA' : 'BBB');
    for (const x of report.vwap) {
      const own = inRange.filter((t) => t.symbol === x.symbol);
      expect(x.vwap).toBeCloseTo(own.reduce((s, t) => s + t.price * t.size, 0) / own.reduce((s, t) => s + t.size, 0), 9);
    }
  });
});

describe('LiveCorrelation', () => {
  it('labels its interval as the operator and the stores do (60s is 1m), and emits matrices of pushed trades', async () => {
    const live = new LiveCorrelation({ interval: '60s', lookback: 3, timing: LIVE_TIMING, warn: () => {} });
    expect(live.interval).toBe('1m');
    const seen: number[] = [];
    live.onMatrix((m) => seen.push(m.end));
    const t0 = Date.UTC(2024, 0, 19, 14, 30);
    const prices = [[100, 50], [101, 50.5], [100.5, 50.2], [102, 51], [101, 50.1], [103, 52]];
    live.push(prices.flatMap(([a, b], k) => [{ symbol: 'A', ts: t0 + k * 60_000 + 5, price: a!, size: 1 }, { symbol: 'B', ts: t0 + k * 60_000 + 7, price: b!, size: 1 }]));
    // Intervals close as the watermark (latest − 1 s) passes end + grace (5 s): the last two stay open, the first has no return yet.
    // Listeners get the newest matrix of each delivered batch (a channel replaces the last matrix anyway).
    expect(live.stats.matrices).toBe(3);
    expect(seen).toEqual([t0 + 4 * 60_000]);
    const m = correlationAnswer(live.latest!, ['B', 'A', 'C']);
    expect(m).toMatchObject({ interval: '1m', lookback: 3, symbols: ['B', 'A'], counts: [3, 3], missing: ['C'] });
    expect(m.values[0]![0]).toBe(1);
    expect(m.values[0]![1]).toBeCloseTo(pearsonOfTrades(prices.flatMap(([a, b], k) => [{ symbol: 'A', ts: t0 + k * 60_000 + 5, price: a!, size: 1 }, { symbol: 'B', ts: t0 + k * 60_000 + 7, price: b!, size: 1 }]), 'A', 'B', { interval: 60_000, lookback: 3, end: m.end }).r, 12);
    await live.stop();
  });
});
