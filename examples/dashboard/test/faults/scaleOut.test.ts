/**
 * Scale-out of the reference server on Kafka's own group protocol: two
 * `tickflow serve` processes (full mode: Kafka, PostgreSQL, Redis; ingest in
 * their worker threads) in one consumer group.
 *
 * What it does
 * - ~40 k seeded trades (oracle.ts) for 16 symbols, 2 per partition of 8,
 *   over 8 minutes of event time, produced with kcat in 16 bursts.
 * - Starts servers A and B in one group and waits until Kafka has split the
 *   8 partitions between them (each reports its own in /healthz).
 * - A WebSocket client of A subscribes to the trades of a symbol whose
 *   partition B owns: it can only get them through the Redis bridge.
 * - After half the bursts B is SIGKILLed; A must take every partition over
 *   (restoring B's window checkpoints from PostgreSQL) while the rest is
 *   produced.
 *
 * What it asserts
 * - the split: both processes own partitions, disjoint, together all 8;
 * - the bridge: A's client receives B's symbol, while A does not ingest it;
 * - the handover: A ends with all 8 partitions, caught up, committed to the
 *   end, 0 late events;
 * - exactly once: PostgreSQL's candles (1m…1d), volume profiles and tick
 *   counts equal the oracle (missing, extra, differing: 0) and every raw
 *   trade is stored once.
 *
 * Limits: one seed (SCALE_SEED); kill moment by wall clock. Takes the fault
 * tests' machine lock (about 2 minutes on 2 cores).
 *
 * The split once failed 1 run in 3: librdkafka's mock broker refuses a
 * follower's SyncGroup that arrives after the leader's (INVALID_REQUEST), and
 * kafkajs then stopped that server's consumer for good. kafkaConsumer now
 * gives followers a head start and joins again after such an error
 * (packages/core/src/kafka/kafkaConsumer.ts; test/kafka/groupRejoin.test.ts
 * injects the refusal). TICKFLOW_SCALE_OUT_TEST=0 skips this test.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ensureDebianPrograms, eventually, startKafka, startPostgres, startRedis } from '@tickflow/test-services';
import type { KafkaService, PostgresService, RunningService } from '@tickflow/test-services';
import { createClient } from '@tickflow/ws-server/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTrades, compareWithOracle, describeComparison } from './comparison.js';
import { Log, bundle, machineLock, sleep } from './faultKit.js';
import { bursts, generateTrades } from './generateTrades.js';
import { expectedFromTopics } from './judgeFaultRun.js';
import { kcatProduce } from './kafkaTopic.js';
import { readPostgres } from './readPostgres.js';
import type { Healthz } from './serverProcess.js';
import { serverProcessFactory } from './serverProcess.js';
import { settle } from './settle.js';
import type { Worker } from './worker.js';
import { killWorker, stopWorker } from './worker.js';

/** On unless TICKFLOW_SCALE_OUT_TEST=0. */
const ENABLED = process.env.TICKFLOW_SCALE_OUT_TEST !== '0';
const SEED = Number(process.env.SCALE_SEED ?? 20261201);
const PARTITIONS = 8;
const SECRET = 'scale-out-test-secret-0123456789abcdefghij';

let release: (() => void) | undefined;
let kafka: KafkaService | undefined;
let pg: PostgresService | undefined;
let redis: RunningService | undefined;
let script: string | undefined;
const workers = new Set<Worker>();
const dirs: string[] = [];
const log = new Log('scaleOut');

beforeAll(async () => {
  if (!ENABLED) return;
  release = await machineLock(9 * 60_000);
  await ensureDebianPrograms([{ binary: '/usr/bin/kcat', pkg: 'kcat' }], 'KAFKA_BROKERS');
  [kafka, pg, redis, script] = await Promise.all([
    startKafka({ ownServer: true, topics: [{ name: 'trades', partitions: PARTITIONS }, { name: 'quotes', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }] }),
    startPostgres(),
    startRedis(),
    bundle(fileURLToPath(new URL('../../src/cli.ts', import.meta.url)), 'scaleCli'),
    bundle(fileURLToPath(new URL('../../src/server/ingestWorker.ts', import.meta.url)), 'ingestWorker', 'ingestWorker.js'),
  ]);
}, 8 * 60_000);

afterAll(async () => {
  await Promise.all([...workers].map((w) => stopWorker(w).catch(() => undefined)));
  await Promise.all([kafka?.stop(), pg?.stop(), redis?.stop()].map((p) => p?.catch(() => undefined)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  release?.();
}, 60_000);

async function health(url: string): Promise<Healthz & { kafka?: { partitions?: number[] } }> {
  return (await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).json()) as Healthz;
}

const until = <T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => eventually(what, f, { timeoutMs, intervalMs: 250 });

describe.skipIf(!ENABLED)('two reference servers in one consumer group', () => {
  it('split the partitions, serve every symbol to every client through Redis, and a killed one hands over exactly once', async () => {
    const brokers = kafka!.brokers;
    const from = Date.UTC(2024, 5, 14, 9, 55, 0);
    const set = generateTrades({ seed: SEED, count: 40_000, partitions: PARTITIONS, symbolsPerPartition: 2, from, to: from + 8 * 60_000 });
    log.line(`seed ${SEED}: ${set.trades.length} trades, ${set.symbols.length} symbols, ${PARTITIONS} partitions`);
    const env = { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP: 'scale', KAFKA_TRADES_TOPIC: 'trades', KAFKA_QUOTES_TOPIC: 'quotes', DATABASE_URL: pg!.url, REDIS_URL: redis!.url };
    const fa = serverProcessFactory({ script: script!, label: 'scale-a', env, secret: SECRET, dirs, workers });
    const fb = serverProcessFactory({ script: script!, label: 'scale-b', env, secret: SECRET, dirs, workers });
    const [a, b] = await Promise.all([fa.start(), fb.start()]);
    const [urlA, urlB] = [fa.url()!, fb.url()!];

    // The split: Kafka's group protocol, nothing of ours.
    const split = await until(
      'the two servers to split the partitions',
      async () => {
        const [ha, hb] = await Promise.all([health(urlA), health(urlB)]);
        const pa = ha.kafka?.partitions ?? [];
        const pb = hb.kafka?.partitions ?? [];
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === PARTITIONS ? { pa, pb } : undefined;
      },
      60_000,
    );
    log.line(`split: A ${split.pa.join(',')}; B ${split.pb.join(',')}`);
    expect([...split.pa, ...split.pb].sort((x, y) => x - y)).toEqual(Array.from({ length: PARTITIONS }, (_, i) => i));

    // A client of A subscribes to a symbol only B ingests.
    const symbolOfB = set.symbols.find((s) => split.pb.includes(set.partitionOfSymbol.get(s)!))!;
    const login = await fetch(`${urlA}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const client = createClient({ url: `${urlA.replace('http', 'ws')}/ws`, token: accessToken, WebSocket: WebSocket as never, reconnect: false });
    const seen: { symbol: string }[] = [];
    client.subscribe(`trades:${symbolOfB}`, (u) => seen.push(...(u.rows as readonly { symbol: string }[])));

    const parts = bursts(set, 16);
    for (let i = 0; i < 8; i++) await kcatProduce(brokers, 'trades', parts[i]!, `scale-${i}`);
    await until(`A's client to receive ${symbolOfB} (ingested by B) through Redis`, async () => (seen.length > 0 ? true : undefined), 30_000);
    expect(seen.every((t) => t.symbol === symbolOfB)).toBe(true);
    const beforeKill = await Promise.all([health(urlA), health(urlB)]);
    log.line(`before the kill: A ingested ${beforeKill[0].events}, B ${beforeKill[1].events}; A's client got ${seen.length} trades of ${symbolOfB}`);
    expect(beforeKill.map((h) => (h as { ingestThread?: string }).ingestThread)).toEqual(['worker', 'worker']);
    expect(beforeKill[0].events).toBeGreaterThan(0);
    expect(beforeKill[1].events).toBeGreaterThan(0);
    client.close();

    // B dies; A takes its partitions over while the rest arrives.
    await killWorker(b);
    for (let i = 8; i < parts.length; i++) {
      await kcatProduce(brokers, 'trades', parts[i]!, `scale-${i}`);
      await sleep(300); // pacing on purpose: the rest arrives while A takes B's partitions over
    }
    const settled = await settle({ worker: a, log, brokers, group: 'scale', topic: 'trades', partitions: PARTITIONS, pgUrl: pg!.url, quietMs: 4_000, timeoutMs: 120_000, commitWaitMs: 10_000 });
    const after = await health(urlA);
    log.line(`after the handover: A has partitions ${after.kafka?.partitions?.join(',')}, ingested ${after.events}, late ${after.late}`);
    expect(after.kafka?.partitions).toHaveLength(PARTITIONS);
    expect(settled.quiet).toBe(true);
    expect(settled.committedToEnd).toBe(true);
    expect(settled.late).toBe(0);

    // Exactly once across the split and the handover: PostgreSQL against the oracle.
    const expected = await expectedFromTopics({ brokers, refTopic: 'trades', crashTopic: 'trades', set, log });
    const snapshot = await readPostgres(pg!.url);
    for (const kind of ['candles', 'profiles', 'ticks'] as const) {
      const c = compareWithOracle(`postgres ${kind} vs oracle`, kind, snapshot, expected);
      log.line(describeComparison(c));
      expect.soft({ kind, missing: c.missing, extra: c.extra, differing: c.differing }, describeComparison(c)).toEqual({ kind, missing: 0, extra: 0, differing: 0 });
    }
    const t = checkTrades('postgres trades', snapshot, set);
    expect.soft({ missing: t.missing, doubled: t.doubled, differing: t.differing, unknown: t.unknown }, t.examples.join('; ')).toEqual({ missing: 0, doubled: 0, differing: 0, unknown: 0 });
    expect(snapshot.duplicateKeys).toBe(0);
  }, 10 * 60_000);
});
