import type { DeadLetter, UserEventRecord, UserEventType } from '@tickflow/core';
import type { Sink } from '@tickflow/sinks';
import type { ServerConfig } from './serverConfig.js';
import { UserEvents } from './userEvents.js';
import type { UserEventsKafka } from './userEventsKafka.js';
import type { UserEventRouteTargets } from './userEventsRoutes.js';

/** Options of `startUserEvents`. */
export interface StartUserEventsOptions {
  readonly config: Pick<ServerConfig, 'kafkaBrokers' | 'kafkaGroup' | 'kafkaEventsTopic' | 'clickhouseUrl' | 'clickhouseMaxConnections' | 'userEventsTtl' | 'userEventsRing'>;
  /** Called when a window count grows (the per-type Prometheus counter). */
  readonly onCount: (type: UserEventType, n: number) => void;
  readonly onDeadLetter: (letter: DeadLetter) => void;
  readonly log: (message: string) => void;
  readonly warn: (message: string) => void;
}

/** The user events of a running server: what the routes use, and how to stop. */
export interface RunningUserEvents extends UserEventRouteTargets {
  close(): Promise<void>;
}

/**
 * Starts the user-event side of the server. Embedded mode: the ring and the
 * wall-clock counting job of this process. With KAFKA_BROKERS: the producer
 * and consumer of the events topic (userEventsKafka.ts). With CLICKHOUSE_URL
 * (first URL: user events are not sharded by symbol): the `user_events`
 * table with its TTL, fed by the consumer (or by the POST when Kafka is not
 * configured).
 */
export async function startUserEvents(o: StartUserEventsOptions): Promise<RunningUserEvents> {
  const c = o.config;
  const events = new UserEvents({ ringSize: c.userEventsRing, onCount: o.onCount, onDeadLetter: o.onDeadLetter });
  let sink: Sink<UserEventRecord> | undefined;
  let closeClient: (() => Promise<void>) | undefined;
  let kafka: UserEventsKafka | undefined;
  try {
    if (c.clickhouseUrl !== undefined) {
      const [{ createClient, ClickHouseLogLevel }, { ClickHouseUserEvents }] = await Promise.all([import('@clickhouse/client'), import('@tickflow/sinks/clickhouse')]);
      const client = createClient({ url: c.clickhouseUrl[0]!, max_open_connections: Math.min(c.clickhouseMaxConnections, 2), application: 'tickflow-user-events', log: { level: ClickHouseLogLevel.OFF } });
      closeClient = () => client.close();
      const table = await ClickHouseUserEvents.open({ client, ttl: c.userEventsTtl === '0' ? false : (c.userEventsTtl as `${number}d`), log: o.log });
      sink = table.sink({ deadLetter: events.deadLetterOutput, maxBufferedRows: 50_000, warn: o.warn });
    }
    if (c.kafkaBrokers !== undefined) {
      const { startUserEventsKafka } = await import('./userEventsKafka.js');
      kafka = await startUserEventsKafka({ brokers: c.kafkaBrokers, topic: c.kafkaEventsTopic, groupId: `${c.kafkaGroup}-events`, events, sink, warn: o.warn, log: o.log });
    } else {
      events.startLocalCounting();
    }
  } catch (e) {
    await sink?.close().catch(() => undefined);
    await closeClient?.().catch(() => undefined);
    await events.close();
    throw e;
  }
  const storedIn = [kafka === undefined ? undefined : `kafka ${c.kafkaEventsTopic}`, sink === undefined ? 'memory' : 'memory + clickhouse user_events'].filter((x) => x !== undefined).join(' → ');
  // Without Kafka, the POST's valid events go to the table directly (a full buffer makes the request wait: bounded memory).
  if (kafka === undefined && sink !== undefined) events.storeTo(sink);
  return {
    events,
    kafka,
    storedIn,
    async close() {
      await kafka?.stop();
      await sink?.close().catch((e: unknown) => o.warn(`user_events sink: ${e instanceof Error ? e.message : String(e)}`));
      await closeClient?.().catch(() => undefined);
      await events.close();
    },
  };
}
