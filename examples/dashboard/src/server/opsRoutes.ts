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
    deadLetters: k.deadLetters,
  };
}

/** Health, readiness, Prometheus metrics and the OpenAPI document. */
export function opsRoutes(app: FastifyInstance, ctx: RouteContext, feedStats: () => Record<string, number>, kafkaStats?: () => KafkaConsumerStats): void {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({
    status: 'ok',
    mode: ctx.stores === undefined ? 'embedded' : 'full',
    ...feedStats(),
    ...(kafkaStats === undefined ? {} : { kafka: kafkaHealth(kafkaStats()) }),
    audit: ctx.audit.stats(),
    ...(ctx.stores === undefined ? {} : { stores: ctx.stores.stats() }),
  }));
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
  app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_PAGE));
}

/** A dependency-free page listing the operations of /api/openapi.json. */
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tickflow API</title>
<style>body{font:14px system-ui,sans-serif;margin:1rem;max-width:960px}td{padding:3px 8px;border-bottom:1px solid #ddd}code{font-weight:600}</style></head>
<body><h1>tickflow reference server API</h1>
<p>OpenAPI 3 document: <a href="/api/openapi.json">/api/openapi.json</a>. Sign in with <code>POST /api/auth/login</code>
(demo users viewer, trader, admin) and send <code>Authorization: Bearer &lt;accessToken&gt;</code>. WebSocket: <code>/ws?token=&lt;accessToken&gt;</code>.</p>
<table id="ops"></table>
<script>
fetch('/api/openapi.json').then(r => r.json()).then(doc => {
  const t = document.getElementById('ops');
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const tr = t.insertRow();
    tr.insertCell().textContent = method.toUpperCase();
    tr.insertCell().innerHTML = '<code></code>'; tr.cells[1].firstChild.textContent = path;
    tr.insertCell().textContent = (op.summary || '') + (op.security ? ' (token)' : '');
  }
});
</script></body></html>`;
