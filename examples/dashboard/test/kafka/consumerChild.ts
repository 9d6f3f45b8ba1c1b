// A consumer process for the Kafka tests (bundled with esbuild by kafkaTestKit.ts):
// trades from Kafka → 1m+5m candles → ClickHouse and PostgreSQL, commits after durable writes.
import type { Candle, Trade } from '@tickflow/core';
import { normalizeTrade, pipeline } from '@tickflow/core';
import { fileCheckpoints, kafkaConsumer } from '@tickflow/core/kafka';
import { BatchingSink } from '@tickflow/sinks';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { aggregationOperators } from '../../src/aggregation.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`consumerChild: ${k} is not set`);
  return v;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const slow = Number(process.env.SLOW_WRITE_MS ?? 0);
const slowRead = Number(process.env.SLOW_READ_MS ?? 0);
/** Blocks the thread (Atomics.wait: a sleep, not a spin) every 20 messages when SLOW_READ_MS is set. */
const pause = new Int32Array(new SharedArrayBuffer(4));
let parsed = 0;
const parse = (value: unknown) => {
  if (slowRead > 0 && ++parsed % 20 === 0) Atomics.wait(pause, 0, 0, slowRead);
  return normalizeTrade(value);
};

const timeframes = (process.env.TIMEFRAMES ?? '1m,5m').split(',') as ('1m' | '5m' | '15m' | '1h' | '1d')[];
const ch = await ClickHouseStore.connect({ url: env('CH_URL'), database: env('CH_DB'), timeframes, log: () => {} });
const pg = await TimescaleStore.connect({ url: env('PG_URL'), schema: env('PG_SCHEMA'), mode: 'postgres', aggregateRefresh: false, log: () => {} });
const sinkOptions = { maxBatchSize: 100, maxBatchAge: 20, maxBufferedRows: 40, warn: () => {} };
const chSink = new BatchingSink<Candle>({ name: 'ch', writeRows: async (rows) => { if (slow > 0) await sleep(slow); await ch.writeCandles(rows); } }, sinkOptions);
const pgSink = new BatchingSink<Candle>({ name: 'pg', writeRows: async (rows) => { if (slow > 0) await sleep(slow); await pg.writeCandles(rows); } }, sinkOptions);
const ops = aggregationOperators({ timeframes, kind: 'candles' });
let late = 0;
const job = (sink: BatchingSink<Candle>) =>
  pipeline<Trade>({ outOfOrderness: '2s', name: sink.name })
    .pipe(ops[0], ops[1])
    .late(() => {
      late++;
    })
    .to(sink);
const consumer = kafkaConsumer({
  brokers: env('BROKERS').split(','),
  topic: env('TOPIC'),
  groupId: env('GROUP'),
  windows: { size: timeframes },
  parse,
  commitInterval: 50,
  maxBytesPerPartition: Number(process.env.MAX_BYTES ?? 4096),
  deadLetterTopic: process.env.DLT,
  sessionTimeout: '3s',
  ...(process.env.CHECKPOINT_DIR === undefined ? {} : { checkpoints: fileCheckpoints(process.env.CHECKPOINT_DIR) }),
  onCommit: (offsets) => process.stdout.write(`commit ${offsets.map((o) => `${o.partition}:${o.offset}`).join(' ')}\n`),
});
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
const stats = await consumer.run({
  jobs: () => {
    process.stdout.write('assigned\n');
    return [job(chSink), job(pgSink)];
  },
  durable: () => Promise.all([chSink.flush(), pgSink.flush()]),
  endWhenIdle: Number(process.env.END_WHEN_IDLE_MS ?? 1500),
  signal: ac.signal,
});
await chSink.close().catch(() => undefined);
await pgSink.close().catch(() => undefined);
await ch.close();
await pg.close();
process.stdout.write(`${JSON.stringify({ ...stats, late })}\n`);
process.exit(0);
