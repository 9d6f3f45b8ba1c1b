import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseOr400 } from './httpErrors.js';
import { doc } from './marketRoutes.js';
import type { RouteContext } from './routeContext.js';
import { requireRole, userOf } from './routeContext.js';
import type { UserEvents } from './userEvents.js';
import { MAX_EVENTS_PER_REQUEST, STATS_MINUTES, checkUserEvents } from './userEvents.js';
import type { UserEventsKafka } from './userEventsKafka.js';

/** The body of POST /api/events: an array of events, or `{ events: [...] }`. */
export const UserEventsBody = z.preprocess(
  (b) => (Array.isArray(b) ? { events: b } : b),
  z.object(
    {
      events: z
        .array(z.unknown())
        .min(1, 'send at least one event')
        .max(MAX_EVENTS_PER_REQUEST, `at most ${MAX_EVENTS_PER_REQUEST} events per request: split the batch`)
        .describe('user events (UserEventSchema of @tickflow/core), each validated on its own'),
    },
    { error: (i) => (i.code === 'invalid_type' ? 'the body must be an array of user events or { "events": [...] }' : undefined) },
  ),
);

export const UserEventStatsQuery = z.object({
  minutes: z.coerce.number().int().min(1).max(STATS_MINUTES).default(STATS_MINUTES).describe(`newest minutes, 1–${STATS_MINUTES}`),
  recent: z.coerce.number().int().min(0).max(100).default(0).describe('also the newest stored events of this node, 0–100'),
});

/** Where user events go: the process's store and counts, and in full mode Kafka. */
export interface UserEventRouteTargets {
  readonly events: UserEvents;
  /** Full mode: the events topic (undefined in embedded mode). */
  readonly kafka: UserEventsKafka | undefined;
  /** What stores them, for the stats answer (`memory`, `kafka → clickhouse`, …). */
  readonly storedIn: string;
}

const bearer = [{ bearerAuth: [] }];

/**
 * POST /api/events (any signed-in user, guests included): validates each
 * event, answers 202 with how many were accepted and each rejected one's
 * index and reason; rejected events go to the dead-letter output. Valid
 * events go to the in-process ring and counting job (embedded mode) or to
 * the events topic (full mode: 503 with Retry-After when Kafka cannot take
 * them; the client re-sends with the same ids). GET /api/events/stats
 * (admins): counts per type and minute from the window job.
 */
export function userEventsRoutes(app: FastifyInstance, ctx: RouteContext, t: UserEventRouteTargets): void {
  const viewer = requireRole(ctx, 'viewer');
  const admin = requireRole(ctx, 'admin');

  app.post(
    '/api/events',
    { preHandler: viewer, schema: { summary: 'User events from the page and the SDK (batched; each validated, rejections listed)', tags: ['events'], security: bearer, body: doc(UserEventsBody) } },
    async (req, reply) => {
      const { events } = parseOr400(UserEventsBody, req.body, 'body');
      const checked = checkUserEvents(events, userOf(req).username);
      if (t.kafka === undefined) {
        t.events.deadLetterOutput.write(checked.letters);
        await t.events.take(checked.records);
      } else {
        try {
          await t.kafka.produce(checked.records);
        } catch (e) {
          throw new HttpError(503, `the events topic cannot take events now (${e instanceof Error ? e.message : String(e)}): retry later with the same ids`, { 'retry-after': '1' });
        }
        t.events.deadLetterOutput.write(checked.letters);
        await t.kafka.deadLetter(checked.letters).catch((e: unknown) => req.log.warn(`user events: dead letters not produced: ${e instanceof Error ? e.message : String(e)}`));
      }
      return reply.status(202).send({ accepted: checked.records.length, rejected: checked.rejected });
    },
  );

  app.get(
    '/api/events/stats',
    { preHandler: admin, schema: { summary: 'User events per type and minute (admins)', tags: ['events'], security: bearer, querystring: doc(UserEventStatsQuery) } },
    async (req) => {
      const q = parseOr400(UserEventStatsQuery, req.query, 'query');
      const snap = t.events.counts.snapshot(q.minutes);
      const kafka = t.kafka?.stats();
      return {
        window: '1m',
        storedIn: t.storedIn,
        ...snap,
        late: t.events.counts.late,
        deadLetters: t.events.deadLetters + (kafka?.deadLetters ?? 0),
        recentDeadLetters: recentOf(t.events.recentDeadLetters),
        ring: { size: t.events.ring.size, capacity: t.events.ring.capacity },
        ...(kafka === undefined ? {} : { kafka: { messages: kafka.messages, lag: kafka.lag, partitions: kafka.partitions, commits: kafka.commits, deadLetters: kafka.deadLetters } }),
        ...(q.recent > 0 ? { recent: t.events.recent(q.recent) } : {}),
      };
    },
  );
}

function recentOf<T>(ring: { size: number; at(i: number): T }): T[] {
  const out: T[] = [];
  for (let i = ring.size - 1; i >= 0; i--) out.push(ring.at(i));
  return out;
}
