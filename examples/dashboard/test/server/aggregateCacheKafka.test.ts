import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle, Trade } from '@tickflow/core';
import { kafkaConsumer } from '@tickflow/core/kafka';
import { keyBy, pipeline } from '@tickflow/core';
import { ohlcv, tumbling } from '@tickflow/windowing';
import { startKafka, startPostgres } from '@tickflow/test-services';
import type { KafkaService, PostgresService } from '@tickflow/test-services';
import { groupDurableProgress } from '../../src/server/durableProgress.js';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';
const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG'];

/** Trades of every symbol in [from, to), one per symbol every `step` ms, with ids unique per (symbol, ts). */
function trades(from: number, to: number, step = 50, symbols: readonly string[] = SYMBOLS): Trade[] {
  const out: Trade[] = [];
  for (let ts = from; ts < to; ts += step) {
    for (const [i, symbol] of symbols.entries()) out.push({ symbol, ts, price: 100 + i + ((ts / step) % 13) * 0.01, size: 1 + ((ts / step) % 4), side: 'buy', id: `${symbol}-${ts}` } as Trade);
  }
  return out;
}

/** What a lagging full-mode server may cache: only ranges the stores hold complete (durableProgress.ts). */
describe('aggregate answers with Kafka ingest: a range is cached only once the stores hold it complete', () => {
  let kafka: KafkaService;
  let pg: PostgresService;
  let producer: Producer;
  const servers: ReferenceServer[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    [kafka, pg] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 4 }, { name: 'quotes', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }, { name: 'progress', partitions: 3 }], ownServer: true }), startPostgres()]);
    producer = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await Promise.all([kafka?.stop(), pg?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const produce = async (rows: readonly Trade[], topic = 'trades'): Promise<void> => {
    for (let i = 0; i < rows.length; i += 5_000) await producer.send({ topic, messages: rows.slice(i, i + 5_000).map((t) => ({ key: t.symbol, value: JSON.stringify(t) })) });
  };

  it('never caches a past range while the consumer has not made its last window durable, and caches it once it has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-agg-cache-'));
    dirs.push(dir);
    const server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: process.env.DEBUG_LOG ?? 'silent', jwtSecret: SECRET, dataDir: dir, kafkaBrokers: kafka.brokers.join(','), kafkaGroup: `agg-${Date.now()}`, databaseUrl: pg.url, ingestThread: 'worker' });
    servers.push(server);
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
    const hdr = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
    // Four minutes back: the range [t0, t0 + 2 min) is long settled on the wall clock, so only the stores' completeness decides.
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 240_000;
    const get = async (symbol: string) => {
      const r = await fetch(`${server.url}/api/aggregates/${symbol}/1m?from=${t0}&to=${t0 + 120_000}`, { headers: hdr });
      return { status: r.status, cache: r.headers.get('x-cache'), candles: r.status === 200 ? ((await r.json()) as { candles: Candle[] }).candles : [] };
    };
    const perMinute = (60_000 / 50) | 0;

    // The first minute of every symbol, then ten seconds of another symbol only: the watermark passes the first minute's end plus the
    // grace, so the first minute closes and is written; of the second minute the stores hold nothing yet (its trades come later, as from
    // a lagging producer). The answer [first minute, final] is all final and the range long past on the wall clock, yet incomplete.
    await produce([...trades(t0, t0 + 60_000), ...trades(t0 + 60_000, t0 + 70_000, 50, ['ZZZ'])]);
    const firstOnly = await until(async () => {
      const r = await get('AAA');
      return r.candles.length === 1 && r.candles[0]!.trades === perMinute && r.candles[0]!.final ? r : undefined;
    }, 'the first minute of AAA, final, from PostgreSQL', 60_000);
    expect(firstOnly.cache).toBe('bypass');
    // Asked again and again: never cached (a cached answer would hide the second minute for the cache's whole minute).
    for (let i = 0; i < 12; i++) {
      const again = await get(SYMBOLS[i % SYMBOLS.length]!);
      expect(again.candles).toHaveLength(1);
      expect(again.cache).toBe('bypass');
      await new Promise((r) => setTimeout(r, 250));
    }

    // The second minute and past its grace: every symbol gets both minutes, complete.
    await produce(trades(t0 + 60_000, t0 + 130_000));
    for (const symbol of SYMBOLS) {
      const both = await until(async () => {
        const r = await get(symbol);
        return r.candles.length === 2 ? r : undefined;
      }, `both minutes of ${symbol}`);
      expect(both.candles.map((c) => c.trades)).toEqual([perMinute, perMinute]);
      expect(both.candles.every((c) => c.final)).toBe(true);
    }
    // Once the group committed past the second minute's end plus the grace, the range is cached, and answered from the cache.
    const cached = await until(async () => {
      const r = await get('CCC');
      return r.cache === 'hit' ? r : undefined;
    }, 'the complete range answered from the cache');
    expect(cached.candles.map((c) => c.trades)).toEqual([perMinute, perMinute]);
  }, 180_000);

  it('reads the durable watermark of a consumer group from the committed metadata: unknown before the first commit, the commit watermark after', async () => {
    const groupId = `progress-${Date.now()}`;
    const progress = await groupDurableProgress({ brokers: kafka.brokers, groupId, topic: 'progress', refreshMs: 50, warn: () => {} });
    try {
      // An empty topic holds nothing back.
      await until(async () => (progress.until() === Number.POSITIVE_INFINITY ? true : undefined), 'an empty topic counted complete');
      const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
      await produce(trades(t0, t0 + 30_000, 100), 'progress');
      // Data and no commit: nothing is known.
      await until(async () => (progress.until() === Number.NEGATIVE_INFINITY ? true : undefined), 'data without a commit counted unknown');
      const ac = new AbortController();
      const consumer = kafkaConsumer<Trade>({ brokers: kafka.brokers, topic: 'progress', groupId, windows: { size: '1m', grace: '5s' }, commitInterval: 100, idleTimeout: '1s' });
      let read = 0;
      const running = consumer.run({
        jobs: () => [pipeline<Trade>({ outOfOrderness: '1s' }).to({ write: (b: readonly Trade[]) => void (read += b.length) }), pipeline<Trade>({ outOfOrderness: '1s' }).pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '5s' }, ohlcv())).to({ write: () => undefined })],
        signal: ac.signal,
      });
      try {
        // The trades end at t0 + 30 s, so the watermark (1 s out of order) stops at t0 + 28.9 s once the partitions are read
        // (a partition without trades stops holding it after the idle second). The offsets stay at 0 (the minute is open), yet the
        // commits carry the watermark as it moves.
        const wm = await until(async () => {
          const v = progress.until();
          return Number.isFinite(v) && v >= t0 + 28_000 ? v : undefined;
        }, 'the committed watermark read back');
        expect(wm).toBeLessThan(t0 + 30_000);
        expect(read).toBe(trades(t0, t0 + 30_000, 100).length);
      } finally {
        ac.abort();
        await running.catch(() => undefined);
      }
    } finally {
      await progress.close();
    }
  }, 120_000);
});
