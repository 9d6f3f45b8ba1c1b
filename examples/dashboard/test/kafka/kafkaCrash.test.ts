import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@tickflow/core/synthetic';
import { startClickHouse, startKafka, startPostgres } from '@tickflow/test-services';
import type { ClickHouseService, KafkaService, PostgresService } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedTrades, offlineCandles, publishTrades, startConsumerChild, storedCandles } from './kafkaTestKit.js';
import type { ChildEnv } from './kafkaTestKit.js';

let kafka: KafkaService | undefined;
let pg: PostgresService | undefined;
let ch: ClickHouseService | undefined;

beforeAll(async () => {
  [kafka, pg, ch] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 4 }, { name: 'trades-ckpt', partitions: 4 }, { name: 'trades-lost', partitions: 4 }] }), startPostgres(), startClickHouse()]);
}, 300_000);

afterAll(async () => {
  await Promise.all([kafka?.stop(), pg?.stop(), ch?.stop()]);
});

describe('Kafka consumer under kill -9', () => {
  it('ends with the same candles in ClickHouse and PostgreSQL as an uninterrupted run after SIGKILLs at random points and restarts', async () => {
    const trades = fixedTrades(4000, 12);
    const counts = await publishTrades(kafka!.brokers, 'trades', trades);
    // Every partition must hold data, or one idle partition would hold the watermark (no idle timeout here on purpose).
    expect(Object.values(counts).filter((n) => n > 0)).toHaveLength(4);
    const base = { BROKERS: kafka!.brokers.join(','), TOPIC: 'trades', CH_URL: ch!.url, PG_URL: pg!.url };
    const symbols = [...new Set(trades.map((t) => t.symbol))];

    // The uninterrupted run.
    const ref = await startConsumerChild({ ...base, GROUP: 'ref', CH_DB: 'ref', PG_SCHEMA: 'ref' });
    const refExit = await ref.exit;
    expect(refExit.code, refExit.err).toBe(0);

    // The same input, killed with SIGKILL at random points, restarted each time.
    const env: ChildEnv = { ...base, GROUP: 'crash', CH_DB: 'crash', PG_SCHEMA: 'crash', SLOW_WRITE_MS: '10', SLOW_READ_MS: '5', MAX_BYTES: '2048' };
    const rnd = new SeededRandom(Number(process.env.CRASH_SEED ?? Date.now() % 1000));
    let killed = 0;
    for (let i = 0; i < 4; i++) {
      const child = await startConsumerChild(env);
      // Kill after a random number of commits plus a random delay: mid-batch, mid-write or mid-commit.
      await child.printed('assigned', 1);
      await new Promise((r) => setTimeout(r, 200 + Math.floor(rnd.next() * 1500)));
      if (child.process.exitCode === null) {
        child.process.kill('SIGKILL');
        killed++;
      }
      await child.exit;
    }
    const last = await startConsumerChild(env);
    const lastExit = await last.exit;
    expect(lastExit.code, lastExit.err).toBe(0);
    // The restart resumed from a commit (it did not re-read everything) and the killed runs had committed.
    const stats = JSON.parse(lastExit.out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as { messages: number; commits: number; skippedReplayed: number };
    console.info(`crash test: ${killed} kills, last run read ${stats.messages} of ${trades.length} messages, skipped ${stats.skippedReplayed} replayed events of closed windows, ${stats.commits} commits`);
    expect(killed).toBeGreaterThanOrEqual(2);
    expect(stats.messages).toBeLessThan(trades.length);

    const refRows = await storedCandles({ chUrl: ch!.url, chDb: 'ref', pgUrl: pg!.url, pgSchema: 'ref', symbols });
    const crashRows = await storedCandles({ chUrl: ch!.url, chDb: 'crash', pgUrl: pg!.url, pgSchema: 'crash', symbols });
    const expected = await offlineCandles(trades);
    expect(refRows.clickhouse).toEqual(expected);
    expect(refRows.postgres).toEqual(expected);
    expect(crashRows.clickhouse).toEqual(refRows.clickhouse);
    expect(crashRows.postgres).toEqual(refRows.postgres);
  }, 240_000);
});

describe('Kafka consumer with checkpoints under kill -9', () => {
  it('restarts from the last checkpoint (re-reading only what came after it, whatever the largest window) and ends with the stores of an uninterrupted run, 1m…1d', async () => {
    const timeframes = ['1m', '5m', '1h', '1d'] as const;
    // Across a UTC midnight: 1d windows of two days are open while the stream runs.
    const trades = fixedTrades(16000, 12, 11, 125, Date.UTC(2024, 0, 19, 23, 45));
    const counts = await publishTrades(kafka!.brokers, 'trades-ckpt', trades);
    expect(Object.values(counts).filter((n) => n > 0)).toHaveLength(4);
    const base = { BROKERS: kafka!.brokers.join(','), TOPIC: 'trades-ckpt', CH_URL: ch!.url, PG_URL: pg!.url, TIMEFRAMES: timeframes.join(',') };
    const symbols = [...new Set(trades.map((t) => t.symbol))];
    const ref = await startConsumerChild({ ...base, GROUP: 'ckpt-ref', CH_DB: 'ckpt_ref', PG_SCHEMA: 'ckpt_ref' });
    const refExit = await ref.exit;
    expect(refExit.code, refExit.err).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), 'tickflow-ckpt-'));
    const env: ChildEnv = { ...base, GROUP: 'ckpt', CH_DB: 'ckpt', PG_SCHEMA: 'ckpt', SLOW_WRITE_MS: '10', SLOW_READ_MS: '5', MAX_BYTES: '2048', CHECKPOINT_DIR: dir };
    const rnd = new SeededRandom(Number(process.env.CRASH_SEED ?? Date.now() % 1000));
    /** Offsets of the last commit seen per partition: a restart resumes there or at a later checkpoint. */
    const committed = new Map<number, number>();
    const reread: number[] = [];
    let killed = 0;
    for (let i = 0; i < 5; i++) {
      const bound = Object.entries(counts).reduce((n, [p, c]) => n + c - (committed.get(Number(p)) ?? 0), 0);
      const child = await startConsumerChild(env);
      await child.printed('assigned', 1);
      // Kill after a few commits plus a random delay: mid-batch, mid-write, mid-checkpoint or mid-commit.
      await child.printed('commit', 1 + Math.floor(rnd.next() * 4));
      await new Promise((r) => setTimeout(r, Math.floor(rnd.next() * 60)));
      if (child.process.exitCode === null) {
        child.process.kill('SIGKILL');
        killed++;
      }
      const exit = await child.exit;
      for (const line of exit.out.split('\n')) if (line.startsWith('commit ')) for (const po of line.slice(7).split(' ')) committed.set(Number(po.split(':')[0]), Number(po.split(':')[1]));
      reread.push(bound);
    }
    const bound = Object.entries(counts).reduce((n, [p, c]) => n + c - (committed.get(Number(p)) ?? 0), 0);
    const last = await startConsumerChild(env);
    const lastExit = await last.exit;
    expect(lastExit.code, lastExit.err).toBe(0);
    const stats = JSON.parse(lastExit.out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as { messages: number; restored: number; checkpoints: number };
    console.info(`checkpoint crash test: ${killed} kills; the last run read ${stats.messages} messages (at most ${bound} after the last commit seen) of ${trades.length}, restored ${stats.restored} partitions`);
    expect(killed).toBeGreaterThanOrEqual(4);
    // The killed runs left most of the topic to the last one, and they had committed.
    expect(bound).toBeGreaterThan(0);
    expect(bound).toBeLessThan(trades.length);
    // It resumed where the killed runs had committed (not at the start of the 1d windows).
    expect(stats.messages).toBeLessThanOrEqual(bound);
    expect(stats.restored).toBe(4);

    const expected = await offlineCandles(trades, timeframes);
    const refRows = await storedCandles({ chUrl: ch!.url, chDb: 'ckpt_ref', pgUrl: pg!.url, pgSchema: 'ckpt_ref', symbols, timeframes });
    const crashRows = await storedCandles({ chUrl: ch!.url, chDb: 'ckpt', pgUrl: pg!.url, pgSchema: 'ckpt', symbols, timeframes });
    expect(refRows.clickhouse).toEqual(expected);
    expect(refRows.postgres).toEqual(expected);
    expect(crashRows.clickhouse).toEqual(expected);
    expect(crashRows.postgres).toEqual(expected);
  }, 240_000);
});

describe('Kafka consumer whose checkpoints are lost', () => {
  it('replays exactly from the safe offset in the commit metadata when the checkpoint store has nothing (another machine, a wiped store)', async () => {
    const timeframes = ['1m', '5m', '1h', '1d'] as const;
    const trades = fixedTrades(12000, 12, 13, 125, Date.UTC(2024, 0, 19, 23, 50));
    await publishTrades(kafka!.brokers, 'trades-lost', trades);
    const base = { BROKERS: kafka!.brokers.join(','), TOPIC: 'trades-lost', CH_URL: ch!.url, PG_URL: pg!.url, TIMEFRAMES: timeframes.join(','), GROUP: 'lost', CH_DB: 'lost', PG_SCHEMA: 'lost', MAX_BYTES: '2048', SLOW_WRITE_MS: '10' };
    const first = await startConsumerChild({ ...base, CHECKPOINT_DIR: mkdtempSync(join(tmpdir(), 'tickflow-ckpt-a-')) });
    await first.printed('commit', 4);
    first.process.kill('SIGKILL');
    const killed = await first.exit;
    const committed = killed.out.split('\n').filter((l) => l.startsWith('commit ')).length;
    expect(committed).toBeGreaterThanOrEqual(4);
    // The next process has an empty checkpoint folder: it must rebuild the open windows by replaying.
    const second = await startConsumerChild({ ...base, CHECKPOINT_DIR: mkdtempSync(join(tmpdir(), 'tickflow-ckpt-b-')) });
    const done = await second.exit;
    expect(done.code, done.err).toBe(0);
    expect(done.err).toMatch(/replaying from the safe offset/);
    const symbols = [...new Set(trades.map((t) => t.symbol))];
    const expected = await offlineCandles(trades, timeframes);
    const rows = await storedCandles({ chUrl: ch!.url, chDb: 'lost', pgUrl: pg!.url, pgSchema: 'lost', symbols, timeframes });
    expect(rows.clickhouse).toEqual(expected);
    expect(rows.postgres).toEqual(expected);
  }, 240_000);
});
