import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Candle } from '@tickflow/core';
import type { Sink } from '@tickflow/sinks';
import type { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import type { CorrelationMatrixRow, TimescaleStore } from '@tickflow/sinks/timescale';
import type { DailyOhlc, MarketReport, SymbolMove, SymbolVolume } from './analyticsReports.js';
import { buildReport, dailyFromMemory, hourlyFromMemory, movesOf, volumeBySymbol } from './analyticsReports.js';
import { HttpError, parseOr400 } from './httpErrors.js';
import type { CorrelationAnswer, LiveCorrelation } from './liveCorrelation.js';
import { correlationAnswer } from './liveCorrelation.js';
import { HistoricalQuery, SOURCE_HEADER, doc } from './marketRoutes.js';
import type { RouteContext } from './routeContext.js';
import { sendCached } from './responseCache.js';
import { durableBefore, requireRole } from './routeContext.js';
import type { DataSource, Sourced, StoreBackends } from './storeBackends.js';

/** Most symbols one correlation answer carries (a matrix grows with their square). */
export const MAX_CORRELATION_SYMBOLS = 50;

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Time after an interval's end before its results count as settled (grace 5 s + wall-clock lag 2 s + margin), as for candles (marketRoutes.ts). */
const SETTLE_MS = 10_000;
/** The default `to` of marketRoutes.ts: no end. */
const NO_END = 8.64e15;

const SYMBOL = /^[\x21-\x7e]{1,32}$/;
const { from: fromTime, to: toTime } = HistoricalQuery.shape;

export const CorrelationQuery = z.object({
  symbols: z
    .string()
    .max(MAX_CORRELATION_SYMBOLS * 33)
    .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter((x) => x !== ''))])
    .refine((l) => l.length > 0, 'must name at least one symbol, e.g. AAPL,MSFT')
    .refine((l) => l.length <= MAX_CORRELATION_SYMBOLS, `at most ${MAX_CORRELATION_SYMBOLS} symbols`)
    .refine((l) => l.every((x) => SYMBOL.test(x)), 'symbols are 1–32 printable ASCII characters without spaces, separated by commas')
    .optional()
    .describe(`comma-separated symbols, at most ${MAX_CORRELATION_SYMBOLS} (default: every symbol of the matrix, when at most ${MAX_CORRELATION_SYMBOLS})`),
  lookback: z.coerce.number().int().min(2).max(100_000).optional().describe('returns per pair (default: the server\'s, TICKFLOW_CORRELATION_LOOKBACK)'),
});
export const DailyQuery = z.object({
  symbol: z.string().regex(SYMBOL, 'must be 1–32 printable ASCII characters'),
  from: fromTime,
  to: toTime,
  limit: z.coerce.number().int().min(1).max(3660).default(366).describe('newest days, 1–3660'),
});
export const VolumeQuery = z.object({ from: fromTime.describe('UTC epoch ms or ISO-8601, inclusive (default: 24 hours before to)'), to: toTime });
export const ReportQuery = z.object({
  from: fromTime.describe('UTC epoch ms or ISO-8601, inclusive (default: 24 hours before to)'),
  to: toTime,
  limit: z.coerce.number().int().min(1).max(100).default(10).describe('rows of each ranking, 1–100'),
});

const bearer = [{ bearerAuth: [] }];

function sourced<T>(reply: FastifyReply, r: Sourced<T>): T {
  void reply.header(SOURCE_HEADER, r.source);
  return r.value;
}

/** The `correlation_matrix` table object of each store (one per store: it creates the table once). */
const tables = new WeakMap<object, { read(q: { interval: string; lookback: number; symbols?: readonly string[] | undefined }): Promise<CorrelationMatrixRow | undefined> }>();
function correlationTable(store: unknown): { read(q: { interval: string; lookback: number; symbols?: readonly string[] | undefined }): Promise<CorrelationMatrixRow | undefined> } {
  const s = store as ClickHouseStore | TimescaleStore;
  let t = tables.get(s);
  if (t === undefined) {
    t = s.correlationMatrices();
    tables.set(s, t);
  }
  return t;
}

/** Full mode: a sink into the `correlation_matrix` table of every configured range store (for LiveCorrelation). */
export function correlationSinks(stores: StoreBackends): Sink<CorrelationMatrixRow>[] {
  return stores.rangeStores.map((r) => (r.store as ClickHouseStore | TimescaleStore).correlationMatrices().sink());
}

/** Daily bars of one symbol from a store: Timescale's `ohlc_daily`, or ClickHouse's `1d` candles in the same shape. */
async function storeDaily(store: unknown, source: Exclude<DataSource, 'memory'>, q: { symbol: string; from: number; to: number }): Promise<DailyOhlc[]> {
  if (source === 'postgres') return (store as TimescaleStore).readDailyOhlc(q);
  const { readClickHouseDailyOhlc } = await import('@tickflow/sinks/clickhouse');
  return readClickHouseDailyOhlc(store as ClickHouseStore, q);
}

/** Volume per symbol and each symbol's move over the hours starting in [from, to), from a store. */
async function storeHours(store: unknown, source: Exclude<DataSource, 'memory'>, q: { from: number; to: number }, withMoves: boolean): Promise<{ volumes: SymbolVolume[]; moves: SymbolMove[] }> {
  if (source === 'postgres') {
    const ts = store as TimescaleStore;
    const volumes = await ts.readVolumeBySymbol(q);
    if (!withMoves) return { volumes, moves: [] };
    const hourly = await Promise.all(volumes.map((v) => ts.readCandles({ symbol: v.symbol, timeframe: '1h', from: q.from, to: q.to })));
    return { volumes, moves: movesOf(hourly.flat()) };
  }
  const hourly = await (store as ClickHouseStore).readCandles({ timeframe: '1h', from: q.from, to: q.to });
  return { volumes: volumeBySymbol(hourly), moves: withMoves ? movesOf(hourly) : [] };
}

/**
 * Analytics routes: the cross-asset correlation matrix (`GET /api/correlation`),
 * daily bars (`GET /api/daily`, Timescale's `ohlc_daily`), volume per symbol
 * (`GET /api/volume`, `volume_by_symbol`) and the market report
 * (`GET /api/report`). Full mode reads the stores in order behind their
 * breakers (ClickHouse answers daily bars and volumes from its `1d` and `1h`
 * candles), then the in-process state, with the 503 rule of marketRoutes.ts;
 * embedded mode answers from the in-process candles and correlation job.
 */
export function analyticsRoutes(app: FastifyInstance, ctx: RouteContext, live: LiveCorrelation): void {
  const viewer = requireRole(ctx, 'viewer');
  const kafka = ctx.config.kafkaBrokers !== undefined;

  /** A cached answer when the range ended before `settled` (ranges that no longer change), else computed and cached when complete. */
  async function cached<T>(reply: FastifyReply, key: string, cacheable: boolean, compute: () => Promise<{ body: T; complete: boolean }>): Promise<T | FastifyReply> {
    if (cacheable) {
      const hit = await ctx.cache.get(key);
      if (hit !== undefined) {
        void reply.header('x-cache', hit.where === 'redis' ? 'hit-redis' : 'hit');
        if (ctx.stores !== undefined) void reply.header(SOURCE_HEADER, 'cache');
        return sendCached(reply, hit.body);
      }
    }
    const { body, complete } = await compute();
    const store = cacheable && complete;
    void reply.header('x-cache', store ? 'miss' : 'bypass');
    return store ? sendCached(reply, ctx.cache.set(key, body)) : body;
  }

  app.get(
    '/api/correlation',
    { preHandler: viewer, schema: { summary: 'Correlation matrix of log returns between symbols (latest interval)', tags: ['analytics'], security: bearer, querystring: doc(CorrelationQuery) } },
    async (req, reply) => {
      const q = parseOr400(CorrelationQuery, req.query, 'query');
      const lookback = q.lookback ?? live.lookback;
      const held = live.latest?.symbols.length ?? 0;
      // Before reading a matrix of n² rows from a store only to refuse it.
      if (q.symbols === undefined && held > MAX_CORRELATION_SYMBOLS) throw tooMany(held);
      const interval = live.interval;
      // The matrix of the last interval that has surely closed: cached until the next one is due.
      const settledEnd = Math.floor((Date.now() - SETTLE_MS) / live.intervalMs) * live.intervalMs;
      const key = `corr|${interval}|${lookback}|${q.symbols?.join(',') ?? '*'}|${settledEnd}`;
      const fromMemory = async (): Promise<CorrelationMatrixRow | undefined> => (lookback === live.lookback ? live.latest : undefined);
      return cached<CorrelationAnswer>(reply, key, true, async () => {
        const m = ctx.stores === undefined ? await fromMemory() : sourced(reply, await ctx.stores.readFromStores(`correlation matrix (${interval}, lookback ${lookback})`, (s) => correlationTable(s).read({ interval, lookback, symbols: q.symbols }), fromMemory, (v) => v !== undefined));
        if (m === undefined) {
          const why = lookback === live.lookback ? `the first comes three return intervals (${interval}) after the first trades` : `this server computes lookback ${live.lookback} (interval ${interval}) and no store holds lookback ${lookback}`;
          throw new HttpError(404, `no correlation matrix yet for lookback ${lookback}: ${why}`);
        }
        if (q.symbols === undefined && m.symbols.length > MAX_CORRELATION_SYMBOLS) throw tooMany(m.symbols.length);
        const body = correlationAnswer(m, q.symbols);
        return { body, complete: body.end === settledEnd };
      });
    },
  );

  app.get(
    '/api/daily',
    { preHandler: viewer, schema: { summary: 'Daily bars of a symbol (ohlc_daily: UTC days starting in [from, to))', tags: ['analytics'], security: bearer, querystring: doc(DailyQuery) } },
    async (req, reply) => {
      const q = parseOr400(DailyQuery, req.query, 'query');
      if (q.from >= q.to) throw new HttpError(400, `invalid query: from (${q.from}) must be before to (${q.to})`);
      const settled = Math.floor((Date.now() - SETTLE_MS) / DAY) * DAY;
      const key = `daily|${q.symbol}|${q.from}|${q.to}|${q.limit}`;
      return cached(reply, key, q.to <= settled && durableBefore(ctx, q.to), async () => {
        const range = { symbol: q.symbol, from: q.from, to: q.to, limit: q.limit };
        const all = ctx.stores === undefined ? await dailyFromMemory(ctx.store, range) : sourced(reply, await ctx.stores.readFromStores(`daily bars of ${q.symbol}`, (s, source) => storeDaily(s, source, range), () => dailyFromMemory(ctx.store, range), () => q.from >= ctx.store.startedAt));
        const days = all.length > q.limit ? all.slice(all.length - q.limit) : all;
        return { body: { symbol: q.symbol, from: q.from, to: shownTo(q.to), days }, complete: days.length > 0 || !kafka };
      });
    },
  );

  /** Volumes (and moves) per symbol over the hours starting in [from, to). */
  const hours = async (reply: FastifyReply, q: { from: number; to: number }, withMoves: boolean): Promise<{ volumes: SymbolVolume[]; moves: SymbolMove[] }> => {
    const fromMemory = async () => {
      const hourly: Candle[] = await hourlyFromMemory(ctx.store, q);
      return { volumes: volumeBySymbol(hourly), moves: withMoves ? movesOf(hourly) : [] };
    };
    if (ctx.stores === undefined) return fromMemory();
    return sourced(reply, await ctx.stores.readFromStores(withMoves ? 'market report' : 'volume by symbol', (s, source) => storeHours(s, source, q, withMoves), fromMemory, () => q.from >= ctx.store.startedAt));
  };

  app.get(
    '/api/volume',
    { preHandler: viewer, schema: { summary: 'Volume, notional and trades per symbol (volume_by_symbol: UTC hours starting in [from, to))', tags: ['analytics'], security: bearer, querystring: doc(VolumeQuery) } },
    async (req, reply) => {
      const p = parseOr400(VolumeQuery, req.query, 'query');
      const q = { from: defaultFrom(req.query, p), to: p.to };
      if (q.from >= q.to) throw new HttpError(400, `invalid query: from (${q.from}) must be before to (${q.to})`);
      const settled = Math.floor((Date.now() - SETTLE_MS) / HOUR) * HOUR;
      return cached(reply, `volume|${q.from}|${q.to}`, q.to <= settled && durableBefore(ctx, q.to), async () => {
        const { volumes } = await hours(reply, q, false);
        return { body: { from: q.from, to: shownTo(q.to), symbols: volumes }, complete: volumes.length > 0 || !kafka };
      });
    },
  );

  app.get(
    '/api/report',
    { preHandler: viewer, schema: { summary: 'Top movers, most traded and VWAP by symbol over UTC hours starting in [from, to)', tags: ['analytics'], security: bearer, querystring: doc(ReportQuery) } },
    async (req, reply) => {
      const q = parseOr400(ReportQuery, req.query, 'query');
      const to = q.to;
      const from = defaultFrom(req.query, q);
      if (from >= to) throw new HttpError(400, `invalid query: from (${from}) must be before to (${to})`);
      const settled = Math.floor((Date.now() - SETTLE_MS) / HOUR) * HOUR;
      return cached<MarketReport>(reply, `report|${from}|${to}|${q.limit}`, to <= settled && durableBefore(ctx, to), async () => {
        const { volumes, moves } = await hours(reply, { from, to }, true);
        return { body: buildReport({ from, to: shownTo(to), volumes, moves, limit: q.limit }), complete: volumes.length > 0 || !kafka };
      });
    },
  );
}

/** `from` as given, else 24 hours before `to` (or before now when `to` is open): hourly reads over all time are not a default. */
function defaultFrom(query: unknown, q: { from: number; to: number }): number {
  if ((query as Record<string, unknown> | undefined)?.from !== undefined) return q.from;
  return Math.max(0, Math.min(q.to, Date.now()) - DAY);
}

function tooMany(n: number): HttpError {
  return new HttpError(400, `invalid query: the matrix holds ${n} symbols, more than ${MAX_CORRELATION_SYMBOLS}: name the ones wanted with symbols=A,B,C`);
}

/** The `to` an answer echoes: the time of the answer when none was given. */
function shownTo(to: number): number {
  return to >= NO_END ? Date.now() : to;
}
