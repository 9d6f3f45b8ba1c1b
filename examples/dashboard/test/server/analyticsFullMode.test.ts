// The analytics routes in full mode against real stores (@tickflow/test-services):
// PostgreSQL 15 (ohlc_daily and volume_by_symbol are materialized views there;
// the TimescaleDB continuous aggregates behind the same reads are covered by
// packages/sinks/test/timescale/timescaleStore.test.ts) and ClickHouse 18.16.
// A fixed set of trades of January 2024 (and the candles the server's
// operators make of them) is written to the stores first; the daily bars,
// volumes and report the server answers must equal sums of those trades.
// The live correlation matrix is written to the store and read back from it.
// With ClickHouse down, a range the in-process store does not hold is 503.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromArray, pipeline } from '@tickflow/core';
import type { Candle, Trade } from '@tickflow/core';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { startClickHouse, startPostgres } from '@tickflow/test-services';
import type { ClickHouseService, RunningService } from '@tickflow/test-services';
import { aggregationOperators } from '../../src/aggregation.js';
import type { CorrelationAnswer } from '../../src/server/liveCorrelation.js';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';
import { analyticsTrades } from './analyticsTrades.js';
import { pearsonOfTrades } from './correlationOracle.js';

const SECRET = 'analytics-full-secret-analytics-full!';
const H = 3_600_000;
const D = 86_400_000;
const T0 = Date.UTC(2024, 0, 18);
const LOOKBACK = 5;

/** Three symbols over two and a half days (CCC stops after the first), buys and sells, some out of order within a second. */
const LIST = analyticsTrades({ t0: T0, seed: 21, step: 113_000, ids: true });
const sum = (l: readonly Trade[], f: (t: Trade) => number): number => l.reduce((s, t) => s + f(t), 0);
const inRange = (symbol: string, from: number, to: number): Trade[] => LIST.filter((t) => t.symbol === symbol && t.ts >= from && t.ts < to).sort((a, b) => a.ts - b.ts);

type Daily = { symbol: string; start: number; end: number; open: number; high: number; low: number; close: number; volume: number; notional: number; buyVolume: number; sellVolume: number; trades: number };
type Volume = { symbol: string; volume: number; notional: number; buyVolume: number; sellVolume: number; trades: number };
type Report = { symbols: number; topMovers: { symbol: string; open: number; close: number; changePct: number }[]; mostTradedByVolume: Volume[]; mostTradedByTrades: Volume[]; vwap: { symbol: string; vwap: number; volume: number; trades: number }[] };

let ch: ClickHouseService;
let pg: RunningService;
let dir: string;

beforeAll(async () => {
  [ch, pg] = await Promise.all([startClickHouse({ ownServer: true }), startPostgres({ ownServer: true })]);
  dir = mkdtempSync(join(tmpdir(), 'tickflow-analytics-full-'));
  const candles: Candle[] = [];
  const [k, w] = aggregationOperators({ timeframes: ['1m', '5m', '15m', '1h', '1d'], kind: 'candles' });
  await pipeline(fromArray(LIST), { outOfOrderness: '1s' }).pipe(k, w).to({ write: (b: readonly Candle[]) => void candles.push(...b) }).run();
  const ts = await TimescaleStore.connect({ url: pg.url, aggregateRefresh: false, log: () => {} });
  const chs = await ClickHouseStore.connect({ url: ch.url, timeframes: ['1m', '5m', '15m', '1h', '1d'], profileTimeframes: ['1m', '5m'], log: () => {} });
  try {
    await Promise.all([ts.writeTrades(LIST), ts.writeCandles(candles), chs.writeTrades(LIST), chs.writeCandles(candles)]);
    await ts.refreshAggregates();
  } finally {
    await ts.close();
    await chs.close();
  }
}, 300_000);

afterAll(async () => {
  await Promise.all([ch?.stop(), pg?.stop()]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function serve(stores: { clickhouseUrl?: string; databaseUrl?: string }): Promise<{ server: ReferenceServer; get: (path: string) => Promise<Response> }> {
  const server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 3, rate: 300, seed: 4, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, correlationInterval: '1s', correlationLookback: LOOKBACK, ...stores });
  const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
  const token = ((await login.json()) as { accessToken: string }).accessToken;
  return { server, get: (path) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }) };
}

/** The checks both stores must pass: daily bars, volumes and the report equal sums of the trades. */
async function checkAggregates(get: (path: string) => Promise<Response>, source: string): Promise<void> {
  const daily = await get(`/api/daily?symbol=AAA&from=${T0}&to=${T0 + 3 * D}`);
  expect(daily.status).toBe(200);
  expect(daily.headers.get('x-data-source')).toBe(source);
  const days = ((await daily.json()) as { days: Daily[] }).days;
  expect(days.map((d) => d.start)).toEqual([T0, T0 + D, T0 + 2 * D]);
  for (const d of days) {
    const own = inRange('AAA', d.start, d.end);
    expect(d).toMatchObject({ symbol: 'AAA', end: d.start + D, open: own[0]!.price, close: own.at(-1)!.price, high: Math.max(...own.map((t) => t.price)), low: Math.min(...own.map((t) => t.price)), trades: own.length, volume: sum(own, (t) => t.size) });
    expect(d.buyVolume).toBe(sum(own.filter((t) => t.side === 'buy'), (t) => t.size));
    expect(d.notional).toBeCloseTo(sum(own, (t) => t.price * t.size), 6);
  }

  // Hours starting in [from, to): 06:30 starts the range at 07:00.
  const from = T0 + 6.5 * H;
  const to = T0 + D + 9 * H;
  const start = T0 + 7 * H;
  const vol = await get(`/api/volume?from=${new Date(from).toISOString()}&to=${to}`);
  expect(vol.status).toBe(200);
  expect(vol.headers.get('x-data-source')).toBe(source);
  const volumes = ((await vol.json()) as { symbols: Volume[] }).symbols;
  expect(volumes.map((v) => v.symbol)).toEqual(['AAA', 'BBB', 'CCC']);
  for (const v of volumes) {
    const own = inRange(v.symbol, start, to);
    expect(v.volume).toBe(sum(own, (t) => t.size));
    expect(v.trades).toBe(own.length);
    expect(v.sellVolume).toBe(sum(own.filter((t) => t.side === 'sell'), (t) => t.size));
    expect(v.notional).toBeCloseTo(sum(own, (t) => t.price * t.size), 6);
  }

  const rep = await get(`/api/report?from=${from}&to=${to}&limit=2`);
  expect(rep.status).toBe(200);
  expect(rep.headers.get('x-data-source')).toBe(source);
  const report = (await rep.json()) as Report;
  expect(report.symbols).toBe(3);
  const move = (s: string) => {
    const own = inRange(s, start, to);
    return { symbol: s, open: own[0]!.price, close: own.at(-1)!.price, changePct: ((own.at(-1)!.price - own[0]!.price) / own[0]!.price) * 100 };
  };
  const movers = ['AAA', 'BBB', 'CCC'].map(move).sort((a, b) => Math.abs(b.changePct) - Math.abs(a.changePct));
  expect(report.topMovers.map((m) => m.symbol)).toEqual(movers.slice(0, 2).map((m) => m.symbol));
  for (const [i, m] of report.topMovers.entries()) {
    expect(m.open).toBe(movers[i]!.open);
    expect(m.close).toBe(movers[i]!.close);
    expect(m.changePct).toBeCloseTo(movers[i]!.changePct, 9);
  }
  const byVolume = ['AAA', 'BBB', 'CCC'].sort((a, b) => sum(inRange(b, start, to), (t) => t.size) - sum(inRange(a, start, to), (t) => t.size));
  expect(report.mostTradedByVolume.map((v) => v.symbol)).toEqual(byVolume.slice(0, 2));
  const byTrades = ['AAA', 'BBB', 'CCC'].sort((a, b) => inRange(b, start, to).length - inRange(a, start, to).length || (a < b ? -1 : 1));
  expect(report.mostTradedByTrades.map((v) => v.symbol)).toEqual(byTrades.slice(0, 2));
  expect(report.vwap.map((v) => v.symbol)).toEqual(['AAA', 'BBB', 'CCC']);
  for (const v of report.vwap) {
    const own = inRange(v.symbol, start, to);
    expect(v.vwap).toBeCloseTo(sum(own, (t) => t.price * t.size) / sum(own, (t) => t.size), 9);
  }
}

/** The live matrix comes back from the store, equal to a brute-force Pearson of the trades the server took in. */
async function checkCorrelation(server: ReferenceServer, get: (path: string) => Promise<Response>, source: string): Promise<void> {
  const m = await until(async () => {
    const r = await get('/api/correlation');
    if (r.status !== 200 || r.headers.get('x-data-source') !== source) return undefined;
    const body = (await r.json()) as CorrelationAnswer;
    return body.symbols.length === 3 && body.counts.every((c) => c === LOOKBACK) ? body : undefined;
  }, `a full correlation matrix from ${source}`, 40_000);
  const held: Trade[] = [];
  for (const symbol of m.symbols) held.push(...(await server.store.trades({ symbol, from: 0, to: Number.MAX_SAFE_INTEGER, cursor: 0, limit: 1_000_000 })).trades);
  const window = { interval: 1_000, lookback: LOOKBACK, end: m.end };
  for (let i = 0; i < 3; i++) {
    // The diagonal is 1, or null when the symbol's returns were flat over the lookback (no variance), as off it.
    expect(m.values[i]![i]).toBe(Number.isNaN(pearsonOfTrades(held, m.symbols[i]!, m.symbols[i]!, window).r) ? null : 1);
    for (let j = i + 1; j < 3; j++) {
      const oracle = pearsonOfTrades(held, m.symbols[i]!, m.symbols[j]!, window);
      // Undefined (a flat return series over the lookback) is null in JSON, NaN in the oracle.
      if (Number.isNaN(oracle.r)) expect(m.values[i]![j]).toBeNull();
      else expect(m.values[i]![j]).toBeCloseTo(oracle.r, 9);
      expect(m.values[j]![i]).toBe(m.values[i]![j]);
    }
  }
}

describe('analytics routes in full mode', () => {
  it('PostgreSQL: daily bars from ohlc_daily, volumes from volume_by_symbol, the report and the stored correlation matrix', async () => {
    const { server, get } = await serve({ databaseUrl: pg.url });
    try {
      await checkAggregates(get, 'postgres');
      await checkCorrelation(server, get, 'postgres');
      // A settled range is cached: the second answer is the cache's.
      const again = await get(`/api/daily?symbol=AAA&from=${T0}&to=${T0 + 3 * D}`);
      expect(again.headers.get('x-cache')).toBe('hit');
    } finally {
      await server.close();
    }
  }, 120_000);

  it('ClickHouse: the same numbers from its 1d and 1h candles, the stored correlation matrix, and 503 when it is down', async () => {
    const { server, get } = await serve({ clickhouseUrl: ch.url });
    try {
      await checkAggregates(get, 'clickhouse');
      await checkCorrelation(server, get, 'clickhouse');
      await ch.stop();
      // Not cached yet (limit 3), the in-process store does not hold January 2024: 503 with Retry-After.
      const down = await get(`/api/report?from=${T0}&to=${T0 + D}&limit=3`);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expect(((await down.json()) as { error: string }).error).toMatch(/market report: no store can answer/);
      // The live correlation is still in process: answered from memory.
      const live = await get('/api/correlation?symbols=SYM0001,SYM0002');
      expect(live.status).toBe(200);
      expect(live.headers.get('x-data-source')).toMatch(/memory|cache/);
    } finally {
      await server.close();
    }
  }, 120_000);
});
