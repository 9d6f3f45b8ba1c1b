import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candle, TickCount, Trade } from '@tickflow/core';
import { collect, fromArray, pipeline } from '@tickflow/core';
import { DEAD_LETTER_REASON_HEADER, kafkaConsumer } from '@tickflow/core/kafka';
import { BatchingSink } from '@tickflow/sinks';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { kafka as kafkaSink } from '@tickflow/sinks/kafka';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { ensureDebianPrograms, startClickHouse, startKafka, startPostgres } from '@tickflow/test-services';
import type { ClickHouseService, KafkaService, PostgresService } from '@tickflow/test-services';
import { tickCount, tumbling } from '@tickflow/windowing';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregationOperators } from '../../src/aggregation.js';
import { cli } from '../runCli.js';
import { fixedTrades, offlineCandles, partitionCounts, sortCandles, storedCandles } from './kafkaTestKit.js';

let kafka: KafkaService | undefined;
let pg: PostgresService | undefined;
let ch: ClickHouseService | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tickflow-kafka-'));

beforeAll(async () => {
  // kcat produces the first test's trades: installed here too, not only by the fault tests (a fresh machine may run this file first).
  await ensureDebianPrograms([{ binary: '/usr/bin/kcat', pkg: 'kcat' }], 'KAFKA_BROKERS');
  [kafka, pg, ch] = await Promise.all([
    startKafka({
      topics: [
        { name: 'trades', partitions: 4 },
        { name: 'quotes', partitions: 4 },
        { name: 'kcat-trades', partitions: 4 },
        { name: 'poison', partitions: 1 },
        { name: 'trades-dead-letter', partitions: 1 },
        'aggregates-1m',
        'tick-count-1m',
      ],
    }),
    startPostgres(),
    startClickHouse(),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([kafka?.stop(), pg?.stop(), ch?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Reads every message of a topic from the start. */
async function readTopic(topic: string, expected: number): Promise<KafkaMessage[]> {
  const client = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: KafkaMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${expected} messages of ${topic} in 20 s`)), 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
        if (seen.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('Kafka end to end', () => {
  it('candles from trades produced with kcat and consumed by tickflow equal the offline CLI output in ClickHouse and PostgreSQL', async () => {
    const trades = fixedTrades(3000, 10, 11);
    const ndjson = trades.map((t) => JSON.stringify(t)).join('\n');
    const file = join(dir, 'kcat.txt');
    writeFileSync(file, trades.map((t) => `${t.symbol}\t${JSON.stringify(t)}`).join('\n') + '\n');
    const r = spawnSync('kcat', ['-P', '-b', kafka!.brokers.join(','), '-t', 'kcat-trades', '-K', '\t', '-X', 'partitioner=murmur2_random', '-l', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(Object.values(await partitionCounts(kafka!.brokers, 'kcat-trades')).reduce((a, b) => a + b, 0)).toBe(3000);

    const chStore = await ClickHouseStore.connect({ url: ch!.url, database: 'kcat', log: () => {} });
    const pgStore = await TimescaleStore.connect({ url: pg!.url, schema: 'kcat', mode: 'postgres', aggregateRefresh: false, log: () => {} });
    const chSink = new BatchingSink<Candle>({ name: 'ch', writeRows: (rows) => chStore.writeCandles(rows) });
    const pgSink = new BatchingSink<Candle>({ name: 'pg', writeRows: (rows) => pgStore.writeCandles(rows) });
    const ops = aggregationOperators({ timeframes: ['1m', '5m'], kind: 'candles' });
    const job = (sink: BatchingSink<Candle>) => pipeline<Trade>({ outOfOrderness: '2s' }).pipe(ops[0], ops[1]).to(sink);
    const stats = await kafkaConsumer({ brokers: kafka!.brokers, topic: 'kcat-trades', groupId: 'kcat', windows: { size: ['1m', '5m'] }, format: 'json' }).run({
      jobs: () => [job(chSink), job(pgSink)],
      durable: () => Promise.all([chSink.flush(), pgSink.flush()]),
      endWhenIdle: 1000,
    });
    await chStore.close();
    await pgStore.close();
    expect(stats.events).toBe(3000);

    const offline = await cli(['aggregate', '--timeframe', '1m,5m', '--out-of-orderness', '2s'], ndjson);
    expect(offline.code, offline.err).toBe(0);
    const expected = sortCandles(offline.out.trim().split('\n').map((l) => JSON.parse(l) as Candle));
    expect(expected.length).toBeGreaterThan(100);
    const stored = await storedCandles({ chUrl: ch!.url, chDb: 'kcat', pgUrl: pg!.url, pgSchema: 'kcat', symbols: [...new Set(trades.map((t) => t.symbol))] });
    expect(stored.clickhouse).toEqual(expected);
    expect(stored.postgres).toEqual(expected);
  }, 120_000);

  it('sends poison messages (invalid JSON, wrong types, truncated MessagePack) to the dead-letter topic with the reason, and the stream goes on', async () => {
    const trades = fixedTrades(300, 3, 5);
    const client = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING });
    const producer = client.producer();
    await producer.connect();
    const good = trades.map((t, i) => ({ key: t.symbol, value: i % 2 === 0 ? JSON.stringify(t) : pack(t) }));
    const bad = [
      { key: 'SYM01', value: '{"symbol":"SYM01","ts":' },
      { key: 'SYM01', value: JSON.stringify({ symbol: 'SYM01', ts: 'yesterday', price: 'cheap', size: -1 }) },
      { key: 'SYM02', value: pack(trades[0]).subarray(0, 7) },
    ];
    await producer.send({ topic: 'poison', messages: [...good.slice(0, 100), bad[0]!, ...good.slice(100, 200), bad[1]!, bad[2]!, ...good.slice(200)] });
    await producer.disconnect();

    const out = collect<Candle>();
    const stats = await kafkaConsumer({ brokers: kafka!.brokers, topic: 'poison', groupId: 'poison', windows: { size: '1m' }, deadLetterTopic: 'trades-dead-letter' }).run({
      jobs: () => [pipeline<Trade>({ outOfOrderness: '2s' }).pipe(...aggregationOperators({ timeframes: ['1m'], kind: 'candles' })).to(out)],
      endWhenIdle: 800,
    });
    expect(stats.deadLetters).toBe(3);
    expect(stats.events).toBe(300);
    const expected = (await offlineCandles(trades)).filter((c) => c.timeframe === '1m');
    expect(sortCandles(out.values)).toEqual(expected);

    const dead = await readTopic('trades-dead-letter', 3);
    const reasons = dead.map((m) => m.headers![DEAD_LETTER_REASON_HEADER]!.toString());
    expect(reasons[0]).toMatch(/invalid JSON/);
    expect(reasons[1]).toMatch(/ts|price|size/);
    expect(reasons[2]).toMatch(/invalid MessagePack/);
    expect(dead[0]!.value!.toString()).toBe(bad[0]!.value);
  }, 60_000);

  it('the Kafka sink publishes candles (JSON) and tick counts (MessagePack) keyed by symbol with symbol, timeframe, start and rev in the value', async () => {
    const trades = fixedTrades(500, 4, 3);
    const candles = collect<Candle>();
    const candleSink = kafkaSink({ brokers: kafka!.brokers, kind: 'candles' });
    await pipeline(fromArray(trades), { outOfOrderness: '2s' }).pipe(...aggregationOperators({ timeframes: ['1m'], kind: 'candles' })).to({ write: (b) => { candles.write(b); return candleSink.write(b); }, close: () => candleSink.close() }).run();
    const tickSink = kafkaSink({ brokers: kafka!.brokers, kind: 'tickCounts', format: 'msgpack' });
    const ticks = collect<TickCount>();
    const { keyBy } = await import('@tickflow/core');
    await pipeline(fromArray(trades), { outOfOrderness: '2s' }).pipe(keyBy<Trade, 'symbol'>('symbol'), tumbling({ size: '1m' }, tickCount())).to({ write: (b) => { ticks.write(b); return tickSink.write(b); }, close: () => tickSink.close() }).run();

    const candleMsgs = await readTopic('aggregates-1m', candles.values.length);
    expect(candleMsgs.every((m) => m.key!.toString() === (JSON.parse(m.value!.toString()) as Candle).symbol)).toBe(true);
    expect(sortCandles(candleMsgs.map((m) => JSON.parse(m.value!.toString()) as Candle))).toEqual(sortCandles(candles.values));
    const tickMsgs = await readTopic('tick-count-1m', ticks.values.length);
    const decoded = tickMsgs.map((m) => unpack(m.value!) as TickCount);
    for (const t of decoded) expect(Object.keys(t)).toEqual(expect.arrayContaining(['symbol', 'timeframe', 'start', 'rev']));
    const key = (t: TickCount): string => `${t.symbol}/${t.start}`;
    expect(decoded.map(key).sort()).toEqual(ticks.values.map(key).sort());
  }, 60_000);

  it('tickflow produce publishes the synthetic feed to the trades and quotes topics as MessagePack, one partition per symbol, with a summary', async () => {
    const { code, err } = await cli(['produce', '--brokers', kafka!.brokers.join(','), '--count', '2000', '--symbols', '8', '--format', 'msgpack']);
    expect(code, err).toBe(0);
    expect(err).toMatch(/tickflow produce: 2000 trades, \d+ quotes \(msgpack, [\d.]+ MB\) in [\d.]+ s, \d+ trades\/s; trades partitions now hold/);
    const counts = await partitionCounts(kafka!.brokers, 'trades');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(2000);
    const msgs = await readTopic('trades', 2000);
    for (const m of msgs) {
      const t = unpack(m.value!) as Trade;
      expect(m.key!.toString()).toBe(t.symbol);
    }
    expect(Object.values(await partitionCounts(kafka!.brokers, 'quotes')).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 60_000);
});
