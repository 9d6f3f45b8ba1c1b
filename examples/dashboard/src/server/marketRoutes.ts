import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '@tickflow/core';
import { HttpError, parseOr400 } from './httpErrors.js';
import type { RouteContext } from './routeContext.js';
import { sendCached } from './responseCache.js';
import { durableBefore, requireRole } from './routeContext.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';
import { PROFILE_TIMEFRAMES } from './marketFeed.js';
import type { Sourced } from './storeBackends.js';

/** Time to wait after a bar's end before its result counts as settled (grace 5 s + wall-clock lag 2 s + margin). */
const SETTLE_MS = 10_000;

/** A time as UTC epoch ms or an ISO-8601 text (UTC when no zone is given). */
const time = z.preprocess((v) => {
  // Numbers (also negative or fractional ones) stay numbers and meet the integer ≥ 0 check: "-1" is not a date.
  if (typeof v !== 'string' || v.trim() === '' || /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.trim())) return v;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(ms) ? v : ms;
}, z.coerce.number({ message: 'must be epoch milliseconds or an ISO-8601 time' }).int().min(0));

/** The default `to`: no end. */
const NO_END = 8.64e15;

const range = {
  from: time.default(0).describe('UTC epoch ms or ISO-8601, inclusive'),
  to: time.default(NO_END).describe('UTC epoch ms or ISO-8601, exclusive (default: no end; answers echo the time of the answer)'),
};
const SymbolParams = z.object({ symbol: z.string().min(1).max(32) });
export const HistoricalQuery = z.object({
  ...range,
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('trades per page, 1–1000'),
  cursor: z.coerce.number().int().min(0).default(0).describe('nextCursor of the previous page'),
});
export const AggregatesParams = z.object({ symbol: z.string().min(1).max(32), timeframe: z.enum(CANDLE_TIMEFRAMES) });
export const AggregatesQuery = z.object({ ...range, limit: z.coerce.number().int().min(1).max(5000).default(500).describe('newest bars, 1–5000') });
export const ProfileParams = z.object({ symbol: z.string().min(1).max(32), timeframe: z.enum(PROFILE_TIMEFRAMES) });
export const ProfileQuery = z.object({ ...range, limit: z.coerce.number().int().min(1).max(100).default(10).describe('newest profiles, 1–100') });

/** The `to` an answer echoes: the time of the answer when none was given (not the far-future default). */
function shownTo(to: number): number {
  return to >= NO_END ? Date.now() : to;
}

/** JSON schema of a zod schema, for the OpenAPI document only (validation is zod's). */
export function doc(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

const bearer = [{ bearerAuth: [] }];

/** Full mode: the response header naming the source that answered (clickhouse, postgres, memory, or cache). */
export const SOURCE_HEADER = 'x-data-source';

function sourced<T>(reply: FastifyReply, r: Sourced<T>): T {
  void reply.header(SOURCE_HEADER, r.source);
  return r.value;
}

/** Market-data routes: historical trades, aggregates, symbols, stats, volume profiles. */
export function marketRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const viewer = requireRole(ctx, 'viewer');
  const knownSymbol = async (symbol: string): Promise<void> => {
    if (ctx.reader.lastPrice(symbol) !== undefined) return;
    if (ctx.stores !== undefined && (await ctx.stores.lastTrade(symbol)) !== undefined) return;
    if (!(await ctx.reader.symbols()).includes(symbol)) {
      throw new HttpError(404, `unknown symbol "${symbol}": GET /api/symbols lists the symbols`);
    }
  };

  app.get('/api/symbols', { schema: { summary: 'Symbols with their latest 1m candle (anonymous)', tags: ['market'] } }, async () => {
    const tf = ctx.config.liveTimeframes[0]!;
    return ctx.store.latestCandles(tf);
  });

  app.get(
    '/api/historical/:symbol',
    { preHandler: viewer, schema: { summary: 'Raw trades in a time range, paginated by cursor', tags: ['market'], security: bearer, params: doc(SymbolParams), querystring: doc(HistoricalQuery) } },
    async (req, reply) => {
      const { symbol } = parseOr400(SymbolParams, req.params, 'path');
      const q = parseOr400(HistoricalQuery, req.query, 'query');
      if (q.from >= q.to) throw new HttpError(400, `invalid query: from (${q.from}) must be before to (${q.to})`);
      await knownSymbol(symbol);
      const page = ctx.stores === undefined ? await ctx.reader.trades({ symbol, ...q }) : sourced(reply, await ctx.stores.tradesOf({ symbol, ...q }));
      return { symbol, from: q.from, to: shownTo(q.to), limit: q.limit, ...page };
    },
  );

  app.get(
    '/api/aggregates/:symbol/:timeframe',
    { preHandler: viewer, schema: { summary: 'Candles in a time range (1m, 5m, 15m, 1h, 1d)', tags: ['market'], security: bearer, params: doc(AggregatesParams), querystring: doc(AggregatesQuery) } },
    async (req, reply) => {
      const { symbol, timeframe } = parseOr400(AggregatesParams, req.params, 'path');
      const q = parseOr400(AggregatesQuery, req.query, 'query');
      if (q.from >= q.to) throw new HttpError(400, `invalid query: from (${q.from}) must be before to (${q.to})`);
      await knownSymbol(symbol);
      // Ranges that ended before the current bar settled, and that the stores hold complete, no longer change: cache them (1-minute TTL).
      const size = parseDuration(timeframe, 'timeframe');
      const settled = q.to <= Math.floor((Date.now() - SETTLE_MS) / size) * size && durableBefore(ctx, q.to);
      const key = `agg|${symbol}|${timeframe}|${q.from}|${q.to}|${q.limit}`;
      if (settled) {
        const hit = await ctx.cache.get(key);
        if (hit !== undefined) {
          void reply.header('x-cache', hit.where === 'redis' ? 'hit-redis' : 'hit');
          if (ctx.stores !== undefined) void reply.header(SOURCE_HEADER, 'cache');
          return sendCached(reply, hit.body);
        }
      }
      const cq = { symbol, timeframe, from: q.from, to: q.to, limit: q.limit };
      const candles = ctx.stores === undefined ? await ctx.reader.candles(cq) : sourced(reply, await ctx.stores.candlesOf(cq));
      const body = { symbol, timeframe, from: q.from, to: shownTo(q.to), candles };
      // Only complete results: every bar final, and with Kafka ingest not empty (an answer from the in-process fallback may lack what the stores hold).
      const cacheable = settled && candles.every((c) => c.final) && (candles.length > 0 || ctx.config.kafkaBrokers === undefined);
      void reply.header('x-cache', cacheable ? 'miss' : 'bypass');
      return cacheable ? sendCached(reply, ctx.cache.set(key, body)) : body;
    },
  );

  app.get('/api/stats/:symbol', { preHandler: viewer, schema: { summary: 'Last price, 24h change, high, low, volume, VWAP', tags: ['market'], security: bearer, params: doc(SymbolParams) } }, async (req, reply) => {
    const { symbol } = parseOr400(SymbolParams, req.params, 'path');
    let stats;
    if (ctx.stores === undefined) stats = await ctx.reader.stats(symbol, Date.now());
    else {
      const r = await ctx.stores.statsOf(symbol, Date.now());
      void reply.header(SOURCE_HEADER, r.source);
      stats = r.stats;
    }
    if (stats === undefined) throw new HttpError(404, `unknown symbol "${symbol}": GET /api/symbols lists the symbols`);
    return stats;
  });

  app.get(
    '/api/profile/:symbol/:timeframe',
    { preHandler: viewer, schema: { summary: 'Volume profiles (1m, 5m)', tags: ['market'], security: bearer, params: doc(ProfileParams), querystring: doc(ProfileQuery) } },
    async (req, reply) => {
      const { symbol, timeframe } = parseOr400(ProfileParams, req.params, 'path');
      const q = parseOr400(ProfileQuery, req.query, 'query');
      await knownSymbol(symbol);
      const pq = { symbol, timeframe, ...q };
      return { symbol, timeframe, profiles: ctx.stores === undefined ? await ctx.reader.profiles(pq) : sourced(reply, await ctx.stores.profilesOf(pq)) };
    },
  );
}
