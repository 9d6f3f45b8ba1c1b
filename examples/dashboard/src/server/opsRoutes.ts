import type { FastifyInstance } from 'fastify';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import type { RouteContext } from './routeContext.js';

/**
 * The trades consumer's state for /healthz: messages read, lag, late events
 * (counted and the last one with its partition and offset), checkpoints
 * stored and restored, idle partitions.
 */
function kafkaHealth(k: KafkaConsumerStats): Record<string, unknown> {
  return {
    messages: k.messages,
    lag: k.lag,
    partitions: k.partitions,
    idlePartitions: k.idle,
    late: k.late,
    ...(k.lastLate === undefined ? {} : { lastLate: { partition: k.lastLate.partition, offset: k.lastLate.offset, ts: new Date(k.lastLate.ts).toISOString() } }),
    commits: k.commits,
    checkpoints: k.checkpoints,
    restoredPartitions: k.restored,
    assignments: k.assignments,
    pauses: k.pauses,
    restarts: k.restarts,
    deadLetters: k.deadLetters,
  };
}

/** Health, readiness, Prometheus metrics and the OpenAPI document. */
export function opsRoutes(app: FastifyInstance, ctx: RouteContext, feedStats: () => Record<string, number | string | undefined>, kafkaStats?: () => KafkaConsumerStats): void {
  // 503 once intake stopped for good (feed stats carry `stopped`): a liveness probe then restarts the process.
  app.get('/healthz', { schema: { summary: 'Liveness (503 when intake stopped for good)', tags: ['ops'] } }, async (_req, reply) => {
    const feed = feedStats();
    return reply.status(feed.stopped === undefined ? 200 : 503).send({
      status: feed.stopped === undefined ? 'ok' : 'failing',
      mode: ctx.stores === undefined ? 'embedded' : 'full',
      ...feed,
      ...(kafkaStats === undefined ? {} : { kafka: kafkaHealth(kafkaStats()) }),
      audit: ctx.audit.stats(),
      ...(ctx.stores === undefined ? {} : { stores: ctx.stores.stats() }),
    });
  });
  app.get('/readyz', { schema: { summary: 'Readiness: the feed has delivered trades and the server is not shutting down', tags: ['ops'] } }, async (_req, reply) => {
    const ready = ctx.ready();
    const stores = ctx.stores;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      mode: stores === undefined ? 'embedded' : 'full',
      stores: { marketData: stores === undefined ? 'in-process' : stores.order.join(' → '), cache: stores?.hasRedis === true ? 'in-process + redis' : 'in-process', audit: ctx.audit.store === 'postgres' ? `postgres (journal ${ctx.audit.path})` : ctx.audit.path },
    });
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(body);
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
