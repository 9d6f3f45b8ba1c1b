import type { Batch } from 'kafkajs';
import { rememberContext } from '../tracing/tracer.js';
import type { TraceContext, TraceSpan, Tracer } from '../tracing/tracer.js';

/** Producer contexts a consume span keeps: the first as its parent, the next ones as links. */
const MAX_CONTEXTS = 32;

/**
 * The spans of one fetched batch, made only when a tracer is installed: a
 * consumer span (a child of the first traced message's producer context,
 * linked to the other producers' contexts of the batch) and inside it one
 * `tickflow windows` span around `push` (the batch pushed into every job, so
 * the sink batches enqueued there are its children; the jobs remember its
 * context for what they emit on a later tick, see `tickTraced`). The caller ends the
 * returned consumer span once the outputs took the batch.
 */
export function traceBatch(tracer: Tracer, batch: Batch, first: number, next: number, events: number, jobs: readonly { readonly name: string }[], push: () => void): TraceSpan {
  const seen = new Set<string>();
  const contexts: TraceContext[] = [];
  for (const m of batch.messages) {
    const tp = m.headers?.traceparent;
    if (tp === undefined) continue;
    const key = String(tp);
    if (seen.has(key)) continue;
    seen.add(key);
    const c = tracer.extract(m.headers);
    if (c !== undefined) contexts.push(c);
    if (contexts.length >= MAX_CONTEXTS) break;
  }
  const consume = tracer.startSpan(`${batch.topic} process`, {
    kind: 'consumer',
    parent: contexts[0],
    links: contexts.length > 1 ? contexts.slice(1) : undefined,
    attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'process', 'messaging.destination.name': batch.topic, 'messaging.destination.partition.id': String(batch.partition), 'messaging.batch.message_count': next - first, 'tickflow.kafka.first_offset': first, 'tickflow.events': events },
  });
  const windows = consume.run(() => tracer.startSpan('tickflow windows', { attributes: { 'tickflow.jobs': jobs.map((j) => j.name).join(','), 'tickflow.events': events } }));
  try {
    windows.run(() => {
      // What the jobs emit later on their wall-clock tick (throttled updates) belongs to this batch's trace.
      const ctx = tracer.active();
      for (const j of jobs) rememberContext(j, ctx);
      push();
    });
  } catch (e) {
    windows.end(e);
    consume.end(e);
    throw e;
  }
  windows.end();
  return consume;
}
