import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Candle } from '@tickflow/core';
import { livePage } from '../livePage.js';
import { HttpError } from './httpErrors.js';
import type { RouteContext } from './routeContext.js';

/** The interim live page (`/`), its JSON (`/api/candles/:symbol`) and server-sent events (`/events`): anonymous, until the dashboard issue replaces them. */
export function livePageRoutes(app: FastifyInstance, ctx: RouteContext): { publish(batch: readonly Candle[]): void; close(): void } {
  const clients = new Set<ServerResponse>();
  const tfs = ctx.config.liveTimeframes;
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(livePage(tfs)));
  app.get<{ Params: { symbol: string }; Querystring: { timeframe?: string } }>('/api/candles/:symbol', { schema: { summary: 'Latest candles of a live timeframe (live page)', tags: ['live'] } }, async (req) => {
    const timeframe = req.query.timeframe ?? tfs[0]!;
    if (!tfs.includes(timeframe)) throw new HttpError(400, `timeframe must be one of ${tfs.join(', ')}, got "${timeframe}"`);
    return ctx.store.candles({ symbol: req.params.symbol, timeframe, from: 0, to: Number.POSITIVE_INFINITY, limit: 500 });
  });
  app.get('/events', { schema: { summary: 'Server-sent events: candle updates of the live timeframes', tags: ['live'] } }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    clients.add(res);
    req.raw.on('close', () => clients.delete(res));
  });
  return {
    publish(batch) {
      if (clients.size === 0) return;
      let frame = '';
      for (const c of batch) if (tfs.includes(c.timeframe)) frame += `event: candle\ndata: ${JSON.stringify(c)}\n\n`;
      if (frame !== '') for (const res of clients) res.write(frame);
    },
    close() {
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
