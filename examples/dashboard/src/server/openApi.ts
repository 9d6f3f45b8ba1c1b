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
  'DELETE /api/orders/:id': [200, order, 'the cancelled order'],
  'GET /api/orders': [200, obj({ orders: { type: 'array', items: order } }), 'the orders, newest first'],
  'GET /api/portfolio': [200, obj({ cash: num, positions: { type: 'array', items: anyObject } }), 'cash, positions and performance'],
  'GET /api/audit': [200, obj({ entries: { type: 'array', items: anyObject } }), 'audit entries, newest first'],
  'GET /api/symbols': [200, { type: 'array', items: candle }, 'the latest 1m candle of every symbol'],
  'GET /api/historical/:symbol': [200, obj({ symbol: str, from: num, to: num, limit: int, trades: { type: 'array', items: trade }, nextCursor: { type: ['number', 'null'], description: 'pass as cursor for the next page' } }, ['symbol', 'trades']), 'a page of trades'],
  'GET /api/aggregates/:symbol/:timeframe': [200, obj({ symbol: str, timeframe: str, from: num, to: num, candles: { type: 'array', items: candle } }), 'candles, oldest first'],
  'GET /api/stats/:symbol': [200, anyObject, 'last price, 24h change, high, low, volume, VWAP'],
  'GET /api/profile/:symbol/:timeframe': [200, obj({ symbol: str, timeframe: str, profiles: { type: 'array', items: profile } }), 'volume profiles'],
  'GET /healthz': [200, anyObject, 'alive, with feed and store figures'],
  'GET /readyz': [200, anyObject, 'ready'],
  'GET /metrics': [200, { type: 'string' }, 'Prometheus text format'],
};

const ERRORS: Record<number, string> = {
  400: 'invalid input (each problem named)',
  401: 'no valid access token: sign in (POST /api/auth/login) or get a guest token (POST /api/auth/guest)',
  403: 'the role may not do this',
  404: 'unknown symbol, order or session',
  409: 'too many open limit orders',
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
  if (path.startsWith('/api/historical') || path.startsWith('/api/aggregates') || path.startsWith('/api/profile') || path.startsWith('/api/stats') || path === '/readyz') out.add(503);
  if (key === 'POST /api/auth/login' || key === 'POST /api/auth/refresh') out.add(401);
  if (key === 'POST /api/auth/refresh') out.add(503);
  if (key === 'POST /api/auth/guest') out.add(403);
  if (key === 'POST /api/orders') out.add(409).add(404);
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
