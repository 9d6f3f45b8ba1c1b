import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { CandleSchema, TradeSchema, VolumeProfileSchema } from '@tickflow/core';
import { OrderInputSchema } from './paperBroker.js';

// The OpenAPI 3.1 document's responses: every documented route gets its
// success schema and every error status it can answer, with the error body
// `{ "error": string }`. Validation stays zod's (in the handlers) and
// serialization JSON.stringify's, so these schemas only document.

type Json = Record<string, unknown>;

const json = (schema: z.ZodType): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Json;
  return rest;
};

const ErrorBody: Json = { type: 'object', required: ['error'], properties: { error: { type: 'string', description: 'what went wrong and what to do' } } };
const obj = (properties: Json, required: string[] = Object.keys(properties)): Json => ({ type: 'object', properties, required });
const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const candle = json(CandleSchema);
const trade = json(TradeSchema);
const profile = json(VolumeProfileSchema);
const tokenPair = obj({ accessToken: str, refreshToken: str, expiresIn: { type: 'integer', description: 'seconds the access token is valid' }, tokenType: { const: 'Bearer' }, role: { enum: ['viewer', 'trader', 'admin'] } }, ['accessToken', 'refreshToken', 'expiresIn', 'role']);
const order = { ...json(OrderInputSchema.and(z.object({ id: z.string(), user: z.string(), createdAt: z.number(), status: z.enum(['open', 'filled', 'rejected', 'cancelled']), fillPrice: z.number().optional(), filledAt: z.number().optional(), reason: z.string().optional() }))) };
const session = obj({ sid: str, user: str, role: str, createdAt: num, lastUsed: num, ip: str }, ['sid', 'user', 'role']);
const anyObject: Json = { type: 'object', additionalProperties: true };
const nullableNum = { type: ['number', 'null'] };
const correlationMatrix = obj({
  interval: { type: 'string', description: 'return interval, e.g. 1m' },
  lookback: { type: 'integer', description: 'returns per pair at most' },
  start: num,
  end: { type: 'number', description: 'end of the interval whose close is the last price of the returns (epoch ms)' },
  symbols: { type: 'array', items: str },
  counts: { type: 'array', items: int, description: 'returns of each symbol in the lookback' },
  values: { type: 'array', items: { type: 'array', items: nullableNum }, description: "values[i][j]: Pearson's r of the log returns of symbols i and j in [−1, 1], null where undefined" },
  missing: { type: 'array', items: str, description: 'asked-for symbols the matrix does not hold' },
});
const dailyBar = obj({ symbol: str, start: { type: 'number', description: 'start of the UTC day' }, end: num, open: num, high: num, low: num, close: num, volume: num, notional: { type: 'number', description: 'Σ price × size' }, buyVolume: num, sellVolume: num, trades: num });
const symbolVolume = obj({ symbol: str, volume: num, notional: { type: 'number', description: 'Σ price × size' }, buyVolume: num, sellVolume: num, trades: num });
const report = obj({
  from: num,
  to: num,
  symbols: { type: 'integer', description: 'symbols that traded in the range' },
  topMovers: { type: 'array', items: obj({ symbol: str, open: num, close: num, change: num, changePct: num }), description: 'by |changePct|, largest first' },
  mostTradedByVolume: { type: 'array', items: symbolVolume },
  mostTradedByTrades: { type: 'array', items: symbolVolume },
  vwap: { type: 'array', items: obj({ symbol: str, vwap: num, volume: num, trades: num }), description: 'every symbol that traded, by symbol' },
});
const stats = obj({
  symbol: str,
  last: num,
  lastTs: { type: 'number', description: 'epoch ms of the last trade' },
  open24h: num,
  change24h: num,
  changePct24h: num,
  high24h: num,
  low24h: num,
  volume24h: num,
  vwap24h: num,
  trades24h: int,
  ticksLastMinute: { type: 'integer', description: 'trades in the latest 1m tick-count window' },
});
const position = obj({ symbol: str, quantity: num, averageCost: num, realisedPnl: num, mark: num, marketValue: num, unrealisedPnl: num });
const portfolio = obj({
  user: str,
  cash: num,
  startingCash: num,
  equity: num,
  realisedPnl: num,
  unrealisedPnl: num,
  positions: { type: 'array', items: position },
  performance: obj({ totalReturn: num, maxDrawdown: num, volatility: num }),
});
const auditEntry: Json = {
  type: 'object',
  required: ['id', 'ts', 'type', 'user'],
  properties: {
    id: { type: 'string', description: 'unique, sortable in append order' },
    ts: num,
    type: { enum: ['login', 'login_failed', 'guest_login', 'order', 'fill', 'order_rejected', 'order_cancelled', 'forbidden', 'logout', 'session_revoked', 'refresh_reuse', 'suppressed'] },
    user: str,
  },
  additionalProperties: true,
  description: 'the fields of each type beside these (an order, a fill, the route of a 403, …)',
};
const health: Json = {
  type: 'object',
  required: ['mode', 'events', 'emitted', 'late', 'deadLetters', 'ingestThread'],
  properties: {
    mode: { enum: ['embedded', 'full'] },
    events: int,
    emitted: int,
    late: int,
    deadLetters: int,
    ingestThread: { enum: ['worker', 'main'], description: 'where ingest, windows and store writes run' },
    kafka: { type: 'object', additionalProperties: true, description: 'full mode with Kafka: lag, partitions, idle partitions, late events, commits, checkpoints' },
    stores: { type: 'object', additionalProperties: true, description: 'full mode: sink and read-breaker figures per store' },
  },
  additionalProperties: true,
};

/** Success status and body per `METHOD path`. */
const SUCCESS: Record<string, [number, Json | undefined, string]> = {
  'POST /api/auth/login': [200, tokenPair, 'a token pair'],
  'POST /api/auth/guest': [200, tokenPair, 'a viewer token pair for a new guest'],
  'POST /api/auth/refresh': [200, tokenPair, 'a new token pair (the refresh token used no longer works)'],
  'POST /api/auth/logout': [204, undefined, 'the session ended'],
  'GET /api/auth/sessions': [200, obj({ sessions: { type: 'array', items: session } }), 'the sessions'],
  'DELETE /api/auth/sessions/:id': [204, undefined, 'the session ended'],
  'DELETE /api/auth/sessions': [200, anyObject, 'how many sessions ended'],
  'POST /api/orders': [201, order, 'the order, filled or resting'],
  'DELETE /api/orders/:id': [200, order, 'the cancelled order (404: no such order of the caller, 409: already filled, rejected or cancelled)'],
  'GET /api/orders': [200, obj({ orders: { type: 'array', items: order } }), 'the orders, newest first'],
  'GET /api/portfolio': [200, portfolio, 'cash, positions and performance'],
  'GET /api/audit': [200, obj({ store: { enum: ['postgres', 'file'] }, path: str, source: str, degraded: str, entries: { type: 'array', items: auditEntry } }, ['entries']), 'audit entries, newest first'],
  'GET /api/symbols': [200, { type: 'array', items: candle }, 'the latest 1m candle of every symbol'],
  'GET /api/historical/:symbol': [200, obj({ symbol: str, from: num, to: num, limit: int, trades: { type: 'array', items: trade }, nextCursor: { type: ['number', 'null'], description: 'pass as cursor for the next page' } }, ['symbol', 'trades']), 'a page of trades'],
  'GET /api/aggregates/:symbol/:timeframe': [200, obj({ symbol: str, timeframe: str, from: num, to: num, candles: { type: 'array', items: candle } }), 'candles, oldest first'],
  'GET /api/stats/:symbol': [200, stats, 'last price, 24h change, high, low, volume, VWAP'],
  'GET /api/profile/:symbol/:timeframe': [200, obj({ symbol: str, timeframe: str, profiles: { type: 'array', items: profile } }), 'volume profiles'],
  'GET /api/correlation': [200, correlationMatrix, 'the latest correlation matrix of the symbols asked for (404: none yet, or not for that lookback)'],
  'GET /api/daily': [200, obj({ symbol: str, from: num, to: num, days: { type: 'array', items: dailyBar } }), 'daily bars, oldest first'],
  'GET /api/volume': [200, obj({ from: num, to: num, symbols: { type: 'array', items: symbolVolume } }), 'volume per symbol, by symbol'],
  'GET /api/report': [200, report, 'top movers, most traded, VWAP by symbol'],
  'GET /healthz': [200, health, 'alive, with feed and store figures'],
  'GET /readyz': [200, anyObject, 'ready'],
  'GET /metrics': [200, { type: 'string' }, 'Prometheus text format'],
  'POST /api/events': [202, obj({ accepted: { type: 'integer', description: 'valid events taken (embedded: stored and counted; full mode: produced to the events topic)' }, rejected: { type: 'array', items: obj({ index: int, reason: str }), description: 'each invalid event: its index in the batch and why (also sent to the dead-letter output)' } }), 'the batch was taken'],
  'GET /api/events/stats': [
    200,
    obj(
      {
        window: { const: '1m' },
        storedIn: str,
        minutes: { type: 'array', items: obj({ start: num, end: num, counts: { type: 'object', additionalProperties: int, description: 'per user-event type' }, total: int }) },
        totals: { type: 'object', additionalProperties: int },
        total: int,
        late: int,
        deadLetters: int,
        recentDeadLetters: { type: 'array', items: obj({ at: num, reason: str, origin: str }) },
        ring: obj({ size: int, capacity: int }),
        kafka: anyObject,
        recent: { type: 'array', items: anyObject },
      },
      ['window', 'storedIn', 'minutes', 'totals', 'total', 'late', 'deadLetters', 'recentDeadLetters', 'ring'],
    ),
    'user events per type and minute, from the window job of this node',
  ],
};

const ERRORS: Record<number, string> = {
  400: 'invalid input (each problem named)',
  401: 'no valid access token: sign in (POST /api/auth/login) or get a guest token (POST /api/auth/guest)',
  403: 'the role may not do this',
  404: 'unknown symbol, order or session (correlation: no matrix yet for that lookback)',
  409: 'too many open limit orders (place), or the order is no longer open (cancel)',
  429: 'rate limited (Retry-After)',
  500: 'internal error',
  503: 'unavailable (Retry-After): stores down, or not ready',
};

/** Error statuses a route can answer, from what it takes and who may call it. */
function errorsOf(key: string, schema: Json): number[] {
  const out = new Set<number>([500]);
  const path = key.split(' ')[1]!;
  if (!['/healthz', '/readyz', '/metrics'].includes(path)) out.add(429);
  if (schema.security !== undefined) out.add(401).add(403);
  if (schema.params !== undefined || schema.querystring !== undefined || schema.body !== undefined) out.add(400);
  if (/:symbol|:id/.test(path)) out.add(404);
  if (path.startsWith('/api/historical') || path.startsWith('/api/aggregates') || path.startsWith('/api/profile') || path.startsWith('/api/stats') || path === '/readyz' || path === '/healthz') out.add(503);
  if (['/api/correlation', '/api/daily', '/api/volume', '/api/report'].includes(path)) out.add(503);
  if (path === '/api/correlation') out.add(404);
  if (key === 'POST /api/auth/login' || key === 'POST /api/auth/refresh') out.add(401);
  if (key === 'POST /api/auth/refresh') out.add(503);
  if (key === 'POST /api/auth/guest') out.add(403);
  if (key === 'POST /api/orders') out.add(409).add(404);
  if (key === 'DELETE /api/orders/:id') out.add(409);
  // Any signed-in user may send events (no 403); full mode answers 503 when the events topic cannot take them.
  if (key === 'POST /api/events') out.add(503).delete(403);
  if (key === 'POST /api/auth/logout' || key === 'GET /api/auth/sessions' || key === 'DELETE /api/auth/sessions') out.delete(403);
  return [...out].sort();
}

/** Fills `schema.response` of every documented route registered after it. Register before the routes. */
export function documentResponses(app: FastifyInstance): void {
  // Response schemas document only: answers are serialized as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as Json | undefined;
    if (schema === undefined || schema.hide === true || schema.response !== undefined) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('HEAD') && methods.length === 1) return;
    const key = `${methods.find((m) => m !== 'HEAD')} ${route.url}`;
    const success = SUCCESS[key];
    const response: Json = {};
    if (success !== undefined) {
      const [status, body, description] = success;
      response[status] = body === undefined ? { description, type: 'null' } : { description, ...body };
    }
    for (const s of errorsOf(key, schema)) response[s] = { description: ERRORS[s], ...ErrorBody };
    schema.response = response;
  });
}
