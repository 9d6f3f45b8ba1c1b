/**
 * kafkaConsumer's commits do not hold up reading: a commit is prepared at one
 * instant (window state and offsets), the consumer reads on while the sinks
 * make what was emitted before it durable, and only then are the prepared
 * checkpoints stored and offsets committed. Here `durable()` is held open by
 * the test: everything published meanwhile is read, nothing is committed
 * until it resolves, and the commit that then lands holds only what had been
 * read when it was prepared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candle, Trade } from '@tickflow/core';
import { keyBy, pipeline } from '@tickflow/core';
import { fileCheckpoints, kafkaConsumer } from '@tickflow/core/kafka';
import { eventually, startKafka } from '@tickflow/test-services';
import type { KafkaService } from '@tickflow/test-services';
import { ohlcv, tumbling } from '@tickflow/windowing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedTrades, offlineCandles, publishTrades } from './kafkaTestKit.js';

const PARTITIONS = 4;
let kafka: KafkaService | undefined;
let dir: string;
// 12 symbols, 0.5 s apart with up to 1.5 s of disorder; the second half follows the first in event time.
const trades = fixedTrades(6_000, 12, 21);
const first = trades.slice(0, 3_000);
const second = trades.slice(3_000);

beforeAll(async () => {
  kafka = await startKafka({ ownServer: true, topics: [{ name: 'trades', partitions: PARTITIONS }] });
  dir = mkdtempSync(join(tmpdir(), 'tickflow-async-commit-'));
}, 300_000);

afterAll(async () => {
  await kafka?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sum = (m: ReadonlyMap<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('kafkaConsumer commits', () => {
  it('reads on while a commit waits for durable(), commits nothing until it resolves, then exactly what was read when the commit was prepared', { timeout: 120_000 }, async () => {
    await publishTrades(kafka!.brokers, 'trades', first);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let durableCalls = 0;
    const committed = new Map<number, number>();
    const commits: number[] = [];
    const candles: Candle[] = [];
    const consumer = kafkaConsumer<Trade>({
      brokers: kafka!.brokers,
      topic: 'trades',
      groupId: 'async-commit',
      windows: { size: '1m', grace: '2s' },
      commitInterval: '200ms',
      checkpoints: fileCheckpoints(dir),
      onCommit: (offsets) => {
        for (const o of offsets) committed.set(o.partition, o.offset);
        commits.push(sum(committed));
      },
    });
    const ac = new AbortController();
    const running = consumer.run({
      jobs: () => [
        pipeline<Trade>({ outOfOrderness: '2s' })
          .pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '2s' }, ohlcv()))
          .to({ write: (b: readonly Candle[]) => void candles.push(...b) }),
      ],
      durable: () => (++durableCalls === 1 ? gate : Promise.resolve()),
      signal: ac.signal,
    });
    try {
      // The first commit is prepared and waits for durable(): publish the second half now.
      await eventually('the first commit waits for durable()', () => durableCalls === 1, { timeoutMs: 60_000, intervalMs: 20 });
      await publishTrades(kafka!.brokers, 'trades', second);
      // Everything is read while that commit waits; nothing is committed and no second commit starts.
      await eventually('every trade read while the commit waits', () => consumer.stats.events === trades.length, { timeoutMs: 30_000, intervalMs: 20 });
      await new Promise((r) => setTimeout(r, 600));
      expect(durableCalls).toBe(1);
      expect(consumer.stats.commits).toBe(0);
      expect(commits).toEqual([]);
      const admin = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const inKafka = async () => (await admin.fetchOffsets({ groupId: 'async-commit', topics: ['trades'] }))[0]!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
      try {
        expect(await inKafka()).toBe(0);
        release();
        // The prepared commit lands with what had been read when it was prepared (the first half at most) …
        await eventually('the prepared commit lands', () => commits.length >= 1, { timeoutMs: 30_000, intervalMs: 20 });
        expect(commits[0]).toBeGreaterThan(0);
        expect(commits[0]).toBeLessThanOrEqual(first.length);
        // … and the next one everything.
        await eventually('everything committed', () => sum(committed) === trades.length, { timeoutMs: 30_000, intervalMs: 50 });
        expect(await inKafka()).toBe(trades.length);
      } finally {
        await admin.disconnect();
      }
    } finally {
      ac.abort();
      await running;
    }
    // No event was late, and every candle emitted (the windows that closed) is the offline one.
    expect(consumer.stats.late).toBe(0);
    const offline = new Map((await offlineCandles(trades, ['1m'])).map((c) => [`${c.symbol}|${c.start}`, c]));
    expect(candles.length).toBeGreaterThan(0);
    for (const c of candles) expect(c).toEqual(offline.get(`${c.symbol}|${c.start}`));
  });
});
