// The library-level worker of consumerFaults.test.ts (bundled with esbuild by
// faultKit.bundle): kafkaConsumer from @tickflow/core/kafka, used without the
// reference server, into ClickHouse and PostgreSQL sinks. The same jobs and
// event-time settings as the server's Kafka ingest: candles 1m 5m 15m 1h 1d,
// volume profiles 1m 5m, tick counts 1m, raw trades; out-of-orderness 1 s,
// grace 5 s, idle timeout 5 s, updates throttled to 250 ms.
//
// Env: BROKERS, TOPIC, GROUP, CH_URL, CH_DB, PG_URL, PG_SCHEMA, CHECKPOINT_DIR.
// Prints `STATS {…}` every 200 ms and `COMMIT …` per commit; SIGTERM stops it
// gracefully (commit, flush the sinks, exit 0).
import type { Candle, Job, LateEvent, Output, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { pipeline } from '@tickflow/core';
import { fileCheckpoints, kafkaConsumer } from '@tickflow/core/kafka';
import type { KafkaConsumerOptions } from '@tickflow/core/kafka';
import type { Sink, SinkOptions } from '@tickflow/sinks';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { aggregationOperators } from '../../src/aggregation.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`faultConsumerChild: ${k} is not set`);
  return v;
};
const TIMEFRAMES = ['1m', '5m', '15m', '1h', '1d'] as const;
const EMIT = { mode: 'update', throttle: '250ms' } as const;

const ch = await ClickHouseStore.connect({ url: env('CH_URL'), database: env('CH_DB'), timeframes: [...TIMEFRAMES], profileTimeframes: ['1m', '5m'], tickCountTimeframes: ['1m'], requestTimeout: 5_000, log: () => {} });
const pg = await TimescaleStore.connect({ url: env('PG_URL'), schema: env('PG_SCHEMA'), aggregateRefresh: false, log: () => {} });
const sinkOptions = (name: string): SinkOptions => ({
  maxBatchSize: 5_000,
  maxBatchAge: 250,
  maxBufferedRows: 100_000,
  retry: { initialDelay: 50, maxDelay: 1_000 },
  breaker: { resetTimeout: 500, volumeThreshold: 2, errorThresholdPercentage: 50, timeout: 5_000 },
  warn: (m) => process.stderr.write(`${name}: ${m}\n`),
});
const sinks = {
  trades: [ch.sink('trades', sinkOptions('ch trades')), pg.sink('trades', sinkOptions('pg trades'))] as Sink<Trade>[],
  candles: [ch.sink('candles', sinkOptions('ch candles')), pg.sink('candles', sinkOptions('pg candles'))] as Sink<Candle>[],
  profiles: [ch.sink('volumeProfiles', sinkOptions('ch profiles')), pg.sink('volumeProfiles', sinkOptions('pg profiles'))] as Sink<VolumeProfile>[],
  ticks: [ch.sink('tickCounts', sinkOptions('ch ticks')), pg.sink('tickCounts', sinkOptions('pg ticks'))] as Sink<TickCount>[],
};
const all = (): Sink<unknown>[] => Object.values(sinks).flat() as Sink<unknown>[];

/** Hands a batch to both stores' sinks; a promise while one of them is full (backpressure: the consumer pauses). */
function fanOut<T>(list: Sink<T>[]): Output<T> {
  return {
    write(batch: readonly T[]) {
      const waits: Promise<void>[] = [];
      for (const s of list) {
        const w = s.enqueue(batch);
        if (w !== undefined) waits.push(w);
      }
      return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
    },
  };
}

let late = 0;
const lateOut: Output<LateEvent> = { write: (b) => void (late += b.length) };
function jobs(): Job<Trade, unknown>[] {
  const c = aggregationOperators({ timeframes: [...TIMEFRAMES], kind: 'candles', grace: '5s', emit: EMIT });
  const p = aggregationOperators({ timeframes: ['1m', '5m'], kind: 'profile', grace: '5s', emit: EMIT });
  const t = aggregationOperators({ timeframes: ['1m'], kind: 'ticks', grace: '5s', emit: EMIT });
  return [
    pipeline<Trade>({ name: 'ingest', ...TIMING }).to(fanOut(sinks.trades)),
    pipeline<Trade>({ name: 'candles', ...TIMING }).pipe(c[0], c[1]).late(lateOut).to(fanOut(sinks.candles)),
    pipeline<Trade>({ name: 'profiles', ...TIMING }).pipe(p[0], p[1]).late(lateOut).to(fanOut(sinks.profiles)),
    pipeline<Trade>({ name: 'ticks', ...TIMING }).pipe(t[0], t[1]).late(lateOut).to(fanOut(sinks.ticks)),
  ] as Job<Trade, unknown>[];
}

// Idleness and checkpoints are the consumer's: the jobs carry event time only.
const TIMING = { outOfOrderness: '1s' } as const;
process.stdout.write('OPTIONS consumer idleTimeout=5s, checkpoints=fileCheckpoints\n');

let commits = 0;
const options: KafkaConsumerOptions<Trade> = {
  brokers: env('BROKERS').split(','),
  topic: env('TOPIC'),
  groupId: env('GROUP'),
  clientId: 'tickflow-faults',
  windows: { size: [...TIMEFRAMES], grace: '5s' },
  idleTimeout: '5s',
  checkpoints: fileCheckpoints(env('CHECKPOINT_DIR')),
  onWarning: (m) => process.stderr.write(`kafka: ${m}\n`),
  onCommit: (offsets) => {
    commits++;
    process.stdout.write(`COMMIT ${offsets.map((o) => `${o.partition}:${o.offset}`).join(' ')}\n`);
  },
};
const consumer = kafkaConsumer<Trade>(options);

const stats = (): string => {
  const s = consumer.stats;
  let accepted = 0, written = 0, buffered = 0;
  for (const k of all()) {
    accepted += k.stats.rowsAccepted;
    written += k.stats.rowsWritten;
    buffered += k.stats.buffered;
  }
  const consumerLate = s.late;
  return JSON.stringify({ events: s.events, messages: s.messages, consumerLate, skipped: s.skippedReplayed, lag: s.lag, late, commits, assignments: s.assignments, partitions: s.partitions.length, accepted, written, buffered, t: Date.now() });
};
const timer = setInterval(() => process.stdout.write(`STATS ${stats()}\n`), 200);
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
try {
  await consumer.run({ jobs, durable: () => Promise.all(all().map((s) => s.flush())), signal: ac.signal });
} catch (e) {
  process.stderr.write(`consumer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
}
clearInterval(timer);
await Promise.all(all().map((s) => s.close().catch(() => undefined)));
await ch.close();
await pg.close();
process.stdout.write(`STATS ${stats()}\n`);
process.exit(0);
