import type { DeadLetter, Job, UserEventRecord } from '@tickflow/core';
import { normalizeUserEventRecord, pipeline } from '@tickflow/core';
import type { KafkaConsumer, KafkaConsumerStats } from '@tickflow/core/kafka';
import { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from '@tickflow/core/kafka';
import type { Sink } from '@tickflow/sinks';
import type { Producer } from 'kafkajs';
import { KAFKA_IDLE_TIMEOUT } from './marketFeed.js';
import type { UserEvents } from './userEvents.js';
import { userEventCountJob } from './userEvents.js';

/** Options of the user events' Kafka side. */
export interface UserEventsKafkaOptions {
  readonly brokers: readonly string[];
  /** The events topic (KAFKA_EVENTS_TOPIC); dead letters go to `<topic>-dead-letter`. */
  readonly topic: string;
  /** Consumer group: the server's group with `-events` appended. */
  readonly groupId: string;
  readonly events: UserEvents;
  /** Where consumed events are stored (ClickHouse `user_events`), when configured; its flush is awaited before each offset commit. */
  readonly sink: Sink<UserEventRecord> | undefined;
  readonly warn: (message: string) => void;
  readonly log: (message: string) => void;
}

/** The running Kafka side of user events. */
export interface UserEventsKafka {
  /** Produces valid events to the events topic (acks from all replicas). Rejects when Kafka cannot take them. */
  produce(records: readonly UserEventRecord[]): Promise<void>;
  /** Produces rejected events to the dead-letter topic with their reason (as the consumer does). */
  deadLetter(letters: readonly DeadLetter[]): Promise<void>;
  readonly stats: () => KafkaConsumerStats;
  stop(): Promise<void>;
}

/**
 * Full mode: POST /api/events produces to the events topic (key: the
 * session id, value: the stamped record as JSON), and a consumer of that
 * topic (group `<KAFKA_GROUP>-events`) validates each message against
 * `UserEventRecordSchema` (bad ones to `<topic>-dead-letter` with the reason
 * in the `tickflow-reason` header), stores the valid ones (ring, and
 * ClickHouse `user_events` when configured) and counts them per type and
 * minute with the library's window job. Offsets are committed by
 * `kafkaConsumer` only after the store's sink flushed (at least once; the
 * table collapses repeats by id).
 */
export async function startUserEventsKafka(o: UserEventsKafkaOptions): Promise<UserEventsKafka> {
  const [{ Kafka, logLevel }, { kafkaConsumer }] = await Promise.all([import('kafkajs'), import('@tickflow/core/kafka')]);
  const deadLetterTopic = `${o.topic}-dead-letter`;
  const kafka = new Kafka({ clientId: 'tickflow-serve-events', brokers: [...o.brokers], logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const consumer: KafkaConsumer<UserEventRecord> = kafkaConsumer<UserEventRecord>({
    brokers: o.brokers,
    topic: o.topic,
    groupId: o.groupId,
    clientId: 'tickflow-serve-events',
    windows: { size: '1m', grace: '5s' },
    idleTimeout: KAFKA_IDLE_TIMEOUT,
    parse: normalizeUserEventRecord,
    timestamp: (e) => e.receivedAt,
    deadLetterTopic,
    onWarning: o.warn,
  });
  const ac = new AbortController();
  const running = consumer
    .run({
      jobs: () => {
        const store = pipeline<UserEventRecord>({ name: 'user-events', outOfOrderness: '1s', timestamp: (e) => e.receivedAt })
          .deadLetters(o.events.deadLetterOutput)
          .to({
            write(batch: readonly UserEventRecord[]) {
              o.events.take(batch, false);
              return o.sink?.enqueue(batch);
            },
          });
        const count = userEventCountJob(o.events.counts, false);
        o.events.useJob(count);
        return [store, count] as Job<UserEventRecord, unknown>[];
      },
      durable: () => o.sink?.flush() ?? Promise.resolve(),
      signal: ac.signal,
    })
    .catch((e: unknown) => {
      if (!ac.signal.aborted) o.warn(`kafka ${o.topic} consumer stopped: ${e instanceof Error ? e.message : String(e)}`);
    });
  o.log(`kafka: user events produced to and consumed from ${o.topic} as group ${o.groupId}; dead letters to ${deadLetterTopic}${o.sink === undefined ? '' : `; stored in ${o.sink.name}`}`);
  return {
    async produce(records) {
      if (records.length === 0) return;
      await producer.send({ topic: o.topic, acks: -1, messages: records.map((r) => ({ key: r.sessionId, value: JSON.stringify(r) })) });
    },
    async deadLetter(letters) {
      if (letters.length === 0) return;
      await producer.send({
        topic: deadLetterTopic,
        acks: -1,
        messages: letters.map((l) => ({ key: null, value: JSON.stringify(l.input) ?? 'null', headers: { [DEAD_LETTER_REASON_HEADER]: l.reason, [DEAD_LETTER_ORIGIN_HEADER]: l.origin } })),
      });
    },
    stats: () => consumer.stats,
    async stop() {
      ac.abort();
      await running;
      await producer.disconnect().catch(() => undefined);
    },
  };
}
