import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './routeContext.js';

/** Health, readiness, Prometheus metrics and the OpenAPI document. */
export function opsRoutes(app: FastifyInstance, ctx: RouteContext, feedStats: () => Record<string, number>): void {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok', mode: 'embedded', ...feedStats() }));
  app.get('/readyz', { schema: { summary: 'Readiness: the feed has delivered trades and the server is not shutting down', tags: ['ops'] } }, async (_req, reply) => {
    const ready = ctx.ready();
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', mode: 'embedded', stores: { marketData: 'in-process', cache: 'in-process', audit: ctx.audit.path } });
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(body);
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/api/openapi.json'));
}
