import type { Candle, RowKinds, TickCount, VolumeProfile } from '@tickflow/core';
import { TickflowError, toTickflowError } from '@tickflow/core';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { pack } from 'msgpackr';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import { candleProblem, tickCountProblem, volumeProfileProblem } from '../rowValidation.js';

/** What a Kafka sink publishes: candles, volume profiles or tick counts. */
export type KafkaSinkKind = 'candles' | 'volumeProfiles' | 'tickCounts';

/** The row type of each kind. */
export type KafkaRowOfKind = Pick<RowKinds, KafkaSinkKind>;

/** The default topic of each kind: `aggregates-1m`, `volume-profile-1m`, `tick-count-1m` (see docs/architecture.md). */
export const KAFKA_SINK_TOPICS: Readonly<Record<KafkaSinkKind, string>> = {
  candles: 'aggregates-1m',
  volumeProfiles: 'volume-profile-1m',
  tickCounts: 'tick-count-1m',
};

/** Options of the Kafka target (without the sink's batching options). */
export interface KafkaTargetOptions<K extends KafkaSinkKind> {
  readonly brokers: readonly string[];
  readonly kind: K;
  /** Topic. Default per kind: `aggregates-1m`, `volume-profile-1m`, `tick-count-1m`. */
  readonly topic?: string;
  /** Value encoding. Default `json`. */
  readonly format?: 'json' | 'msgpack';
  /** Client id. Default `tickflow-sink`. */
  readonly clientId?: string;
}

/** Options of `kafka()`: the target's and the sink's. */
export type KafkaSinkOptions<K extends KafkaSinkKind> = KafkaTargetOptions<K> & SinkOptions;

const PROBLEMS = { candles: candleProblem, volumeProfiles: volumeProfileProblem, tickCounts: tickCountProblem } as const;

/**
 * Publishes windowed results to a topic, key = symbol, value = the whole row
 * (it carries `symbol, timeframe, start, rev`, so consumers de-duplicate by
 * `(symbol, timeframe, start)` keeping the highest `rev`). A write resolves
 * when every broker replica acknowledged it (`acks: -1`). Replays publish the
 * same rows again: the topic is at-least-once, the values make it idempotent
 * for consumers.
 *
 * @example
 * ```ts
 * const target = new KafkaTarget({ brokers: ['127.0.0.1:9092'], kind: 'candles' });
 * await target.writeRows(candles);
 * await target.close();
 * ```
 */
export class KafkaTarget<K extends KafkaSinkKind> implements SinkTarget<KafkaRowOfKind[K]> {
  readonly name: string;
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly encode: (row: KafkaRowOfKind[K]) => Buffer | string;
  private producer: Promise<Producer> | undefined;

  constructor(private readonly options: KafkaTargetOptions<K>) {
    if (options.brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'brokers must list at least one host:port, e.g. ["127.0.0.1:9092"]');
    if (!(options.kind in KAFKA_SINK_TOPICS)) throw new TickflowError('INVALID_ARGUMENT', `kind must be candles, volumeProfiles or tickCounts, got "${String(options.kind)}"`);
    const format = options.format ?? 'json';
    if (format !== 'json' && format !== 'msgpack') throw new TickflowError('INVALID_ARGUMENT', `format must be json or msgpack, got "${String(format)}"`);
    this.topic = options.topic ?? KAFKA_SINK_TOPICS[options.kind];
    this.name = `kafka:${this.topic}`;
    this.encode = format === 'json' ? (row) => JSON.stringify(row) : (row) => pack(row);
    this.kafka = new Kafka({ clientId: options.clientId ?? 'tickflow-sink', brokers: [...options.brokers], logLevel: logLevel.NOTHING });
  }

  validate(row: KafkaRowOfKind[K]): string | undefined {
    return (PROBLEMS[this.options.kind] as (r: KafkaRowOfKind[K]) => string | undefined)(row);
  }

  private connect(): Promise<Producer> {
    if (this.producer === undefined) {
      const producer = this.kafka.producer({ allowAutoTopicCreation: false });
      const p = producer.connect().then(() => producer);
      // A failed connect is forgotten: the sink's retry connects again.
      p.catch(() => {
        if (this.producer === p) this.producer = undefined;
      });
      this.producer = p;
    }
    return this.producer;
  }

  async writeRows(rows: readonly KafkaRowOfKind[K][]): Promise<void> {
    try {
      const producer = await this.connect();
      const messages = new Array<{ key: string; value: Buffer | string }>(rows.length);
      for (let i = 0; i < rows.length; i++) messages[i] = { key: rows[i]!.symbol, value: this.encode(rows[i]!) };
      await producer.send({ topic: this.topic, acks: -1, messages });
    } catch (e) {
      throw toTickflowError(e, 'SINK_FAILED', `${this.name}: publishing ${rows.length} rows failed`);
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    const producer = await p?.catch(() => undefined);
    await producer?.disconnect();
  }
}

/**
 * A Kafka sink: candles, volume profiles or tick counts published to their
 * topic (key = symbol), batched, retried and back-pressured by
 * `BatchingSink`.
 *
 * @example
 * ```ts
 * await pipeline(syntheticTrades({ count: 100_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
 *   .to(kafka({ brokers: ['127.0.0.1:9092'], kind: 'candles' }))
 *   .run();
 * ```
 */
export function kafka(options: KafkaSinkOptions<'candles'>): Sink<Candle>;
export function kafka(options: KafkaSinkOptions<'volumeProfiles'>): Sink<VolumeProfile>;
export function kafka(options: KafkaSinkOptions<'tickCounts'>): Sink<TickCount>;
export function kafka<K extends KafkaSinkKind>(options: KafkaSinkOptions<K>): Sink<KafkaRowOfKind[K]>;
export function kafka<K extends KafkaSinkKind>(options: KafkaSinkOptions<K>): Sink<KafkaRowOfKind[K]> {
  const { brokers, kind, topic, format, clientId, ...sink } = options;
  const target = new KafkaTarget<K>({ brokers, kind, ...(topic === undefined ? {} : { topic }), ...(format === undefined ? {} : { format }), ...(clientId === undefined ? {} : { clientId }) });
  return new BatchingSink(target, { maxBatchSize: 10_000, ...sink });
}
