import type { Candle, Trade } from '@tickflow/core';
import { pipeline } from '@tickflow/core';
import { kafkaConsumer } from '@tickflow/core/kafka';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import { BatchingSink } from '@tickflow/sinks';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { eventually, startKafka, startPostgres } from '@tickflow/test-services';
import type { KafkaService, PostgresService } from '@tickflow/test-services';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregationOperators } from '../../src/aggregation.js';
import { fixedTrades, offlineCandles, partitionCounts, sortCandles } from './kafkaTestKit.js';

let kafka: KafkaService | undefined;
let pg: PostgresService | undefined;

beforeAll(async () => {
  [kafka, pg] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 6 }] }), startPostgres()]);
}, 300_000);

afterAll(async () => {
  await Promise.all([kafka?.stop(), pg?.stop()]);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A member that failed (e.g. turned a rebalance into an error) ends the wait with its error. */
const failures: unknown[] = [];

const until = (what: string, cond: () => boolean, timeoutMs: number): Promise<boolean> => eventually(what, cond, { timeoutMs, intervalMs: 20, failWhen: () => failures[0] });

/** One group member: trades → 1m+5m candles → the PostgreSQL schema named after the group (slow writes), commits every 50 ms. */
async function member(name: string, group: string, run: { signal?: AbortSignal; endWhenIdle?: number }) {
  const store = await TimescaleStore.connect({ url: pg!.url, schema: group, mode: 'postgres', aggregateRefresh: false, log: () => {} });
  const sink = new BatchingSink<Candle>({ name, writeRows: async (rows) => { await sleep(60); /* slow on purpose: A is busy in its batch handler */ await store.writeCandles(rows); } }, { maxBatchSize: 100, maxBatchAge: 20, maxBufferedRows: 40, warn: () => {} });
  const ops = aggregationOperators({ timeframes: ['1m', '5m'], kind: 'candles' });
  let commits = 0;
  const consumer = kafkaConsumer({
    brokers: kafka!.brokers,
    topic: 'trades',
    groupId: group,
    windows: { size: ['1m', '5m'] },
    commitInterval: 50,
    maxBytesPerPartition: 2048,
    sessionTimeout: '3s',
    clientId: name,
    onCommit: () => commits++,
    onWarning: () => {},
  });
  const done: Promise<KafkaConsumerStats> = consumer
    .run({ jobs: () => [pipeline<Trade>({ outOfOrderness: '2s', name }).pipe(ops[0], ops[1]).to(sink)], durable: () => sink.flush(), ...run })
    .finally(async () => {
      await sink.close().catch(() => undefined);
      await store.close();
    });
  done.catch((e: unknown) => failures.push(e));
  return { consumer, done, commits: () => commits };
}

async function readCandles(schema: string, symbols: readonly string[]): Promise<Candle[]> {
  const store = await TimescaleStore.connect({ url: pg!.url, schema, mode: 'postgres', aggregateRefresh: false, log: () => {} });
  try {
    const rows: Candle[] = [];
    for (const timeframe of ['1m', '5m']) for (const symbol of symbols) rows.push(...(await store.readCandles({ symbol, timeframe, from: 0, to: 4_102_444_800_000 })));
    return sortCandles(rows);
  } finally {
    await store.close();
  }
}

describe('Kafka consumer group rebalance', () => {
  it('a second member joining mid-stream takes half the partitions, leaves again, and the stored candles equal the offline aggregation', async () => {
    const trades = fixedTrades(4000, 24, 13);
    const symbols = [...new Set(trades.map((t) => t.symbol))];
    const client = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING });
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    let produced = 0;
    const produce = async (n: number): Promise<void> => {
      const chunk = trades.slice(produced, produced + n);
      produced += chunk.length;
      await producer.send({ topic: 'trades', acks: -1, messages: chunk.map((t) => ({ key: t.symbol, value: JSON.stringify(t) })) });
    };
    // A backlog of 2000 (A is busy in its batch handler, behind a slow sink, when B joins: the rebalance
    // error comes from the handler's heartbeat), then 200 trades every 250 ms; the last 600 only once B
    // has left, so A is never idle before that.
    let bLeft!: () => void;
    const left = new Promise<void>((resolve) => (bLeft = resolve));
    await produce(2000);
    const feed = (async () => {
      while (produced < trades.length - 600) {
        await produce(200);
        await sleep(250); // pacing on purpose: a steady feed
      }
      await left;
      while (produced < trades.length) {
        await produce(200);
        await sleep(250);
      }
    })();

    const a = await member('a', 'rebalance', { endWhenIdle: 1500 });
    try {
      await until('A to own all six partitions and read events', () => a.consumer.stats.partitions.length === 6 && a.consumer.stats.events >= 200, 15_000);
      const stopB = new AbortController();
      const b = await member('b', 'rebalance', { signal: stopB.signal });
      try {
        // The join completes once A rejoins: A notices the rebalance at its next heartbeat, which can wait
        // behind a slow batch, and the coordinator may hold the join up to the rebalance timeout (10 s).
        await until('B to get partitions', () => b.consumer.stats.partitions.length > 0, 40_000);
        const split = { a: a.consumer.stats.partitions, b: b.consumer.stats.partitions };
        expect([...split.a, ...split.b].sort()).toEqual([0, 1, 2, 3, 4, 5]);
        expect(split.a.length).toBe(3);
        await until('B to read and commit', () => b.consumer.stats.events >= 300 && b.commits() >= 1, 10_000);
        expect(produced).toBeLessThan(trades.length);
      } finally {
        stopB.abort();
      }
      const bStats = await b.done;
      bLeft();
      expect(bStats.events).toBeGreaterThan(0);
      await feed;
      expect(Object.values(await partitionCounts(kafka!.brokers, 'trades')).filter((n) => n > 0)).toHaveLength(6);
      const aStats = await a.done;
      // Three assignments: all six, three while B was in, all six again.
      expect(aStats.assignments).toBe(3);
      expect(aStats.partitions).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      bLeft();
      await feed.catch(() => undefined);
      await producer.disconnect();
      await a.done.catch(() => undefined);
    }
    expect(await readCandles('rebalance', symbols)).toEqual(await offlineCandles(trades));
  }, 120_000);
});
