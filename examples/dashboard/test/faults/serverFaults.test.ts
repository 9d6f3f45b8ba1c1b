/**
 * Fault test of the reference server in full mode (Kafka → event-time windows
 * → ClickHouse + PostgreSQL + Redis): the stores must end identical after
 * crashes to an uninterrupted run, and both must equal an independent oracle.
 *
 * What it does
 * - Generates ~120 k seeded trades (oracle.ts; own PRNG) for 48 symbols, 3 per
 *   partition of 16 (Kafka's murmur2 on the key), from 23:42 to 00:12:30 UTC,
 *   so 1h and 1d windows of two days are involved. Disorder stays below 6 s
 *   behind the newest trade of the partition (and of the whole topic), so
 *   nothing is late for out-of-orderness 1 s + grace 5 s; ~15 % of trades are
 *   0.8–5 s behind, so 1m windows that already fired get corrections. ~3 %
 *   repeat the previous ts of their symbol (open/close ties by offset).
 * - Uninterrupted run: the whole set is produced with kcat to `trades-ref`,
 *   then one server (its own group, ClickHouse server, PostgreSQL database,
 *   Redis db) reads it as a backlog (this gives the throughput figure).
 * - Crash run: a fresh server (own group, ClickHouse server, PostgreSQL
 *   database, Redis db) on `trades` while the same trades are produced in 24
 *   bursts every 2.5 s; the server is SIGKILLed 5 times, each not before a
 *   seeded moment and a seeded 1–4 s after it got its partitions (a dead
 *   predecessor's session holds the group up to 10 s), and restarted at once
 *   in the same group (a start that fails because a store
 *   is down is retried every second; a server that dies on its own is
 *   restarted and counted); ClickHouse is SIGKILLed once and restarted after
 *   8 s, PostgreSQL once after 6 s (both outages longer than the 5 s idle
 *   timeout, while trades keep coming).
 * - After each run: wait until the server has all partitions, no lag, and it and PostgreSQL
 *   have been quiet for 4 s (the 5 s idle timeout closes the windows first),
 *   then up to 10 s for every partition's committed offset to reach the high
 *   watermark; then read every row of every table (ClickHouse with FINAL).
 * - Both topics are read back with kcat: every trade's partition and offset
 *   (the oracle's open/close ties) and checks that both topics are the same.
 *
 * What it asserts (expect.soft, so one run reports every figure)
 * - each store, each kind (candles 1m 5m 15m 1h 1d, volume profiles 1m 5m,
 *   tick counts 1m), each run, against the oracle: 0 missing, 0 extra, 0
 *   differing rows in any data field and `end`; `final` true for every window
 *   with end ≤ max ts − 1 s; rev a positive integer;
 * - crash run against uninterrupted run, each store and kind: every column
 *   (rev and final included; PostgreSQL's written_at excepted) equal;
 * - raw trades (ClickHouse trades_raw FINAL, PostgreSQL trades): every trade
 *   exactly once with every field equal, nothing else;
 * - 0 late events in the server's metrics; ≥ 4 kills; each restart re-read at
 *   most min(20 % of the trades, what the uninterrupted server reads in 10 s);
 * - the group's committed offsets reach the high watermarks once quiet.
 *
 * Float fields: volume, buy/sell volume, vwap, profile level volumes and
 * value-area volume are compared exactly against the correctly rounded exact
 * sums (BigInt); every difference is also reported in ulps.
 *
 * Limits
 * - One seed per run (FAULT_SEED, FAULT_KILL_SEED override it; both logged).
 *   Kill moments are wall-clock times, so where they land in the processing
 *   differs between runs even with one seed.
 * - The server is bundled from the workspace sources with esbuild (the
 *   `@tickflow/source` condition), not from dist: it tests the code as it is.
 *   Its ingest worker is bundled beside it, so ingest runs in the worker
 *   thread as it does from the build (killing the process kills both).
 * - Re-read per restart: when /healthz reports the consumer's `kafka.messages`,
 *   exactly (the killed process's position = the committed offsets it started
 *   from + the messages it read; re-read = position − committed offsets after
 *   the kill); otherwise (high − committed) right after the kill minus the
 *   consumer-lag gauge just before it (refreshed every second, so a kill
 *   during a burst can be off by about a second of input).
 * - librdkafka's mock broker may keep only ~5 MB per partition (unless the
 *   harness raised it): both topics hold ~12 MB over 16 partitions (~0.8 MB
 *   each); reading both topics back checks that every trade is still there.
 * - ClickHouse is Debian's 18.16 (UInt64 ms times); Redis is not compared.
 * - Takes about 4 minutes on 2 cores; the two fault test files take the
 *   machine in turn (a lock in /tmp).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDebianPrograms, eventually, startClickHouse, startKafka, startRestartablePostgres, startRestartableRedis } from '@tickflow/test-services';
import type { ClickHouseService, KafkaService, RestartablePostgres, RestartableRedis } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { crashRun, killSchedule } from './crashRun.js';
import { selfCheckExactArithmetic } from './exactArithmetic.js';
import { Log, bundle, machineLock } from './faultKit.js';
import { bursts, generateTrades } from './generateTrades.js';
import { expectedFromTopics, judgeFaultRun } from './judgeFaultRun.js';
import { kcatProduce } from './kafkaTopic.js';
import { createDatabases, withDatabase } from './postgresDatabases.js';
import { checkClickHouseFloats, readClickHouse } from './readClickHouse.js';
import { readPostgres } from './readPostgres.js';
import { serverProcessFactory } from './serverProcess.js';
import { settle } from './settle.js';
import { Sfc32 } from './sfc32.js';
import type { Worker, WorkerFactory } from './worker.js';
import { stopWorker } from './worker.js';

const SEED = Number(process.env.FAULT_SEED ?? 20240614);
const KILL_SEED = Number(process.env.FAULT_KILL_SEED ?? SEED + 1);
const PARTITIONS = 16;
const TRADES = Number(process.env.FAULT_TRADES ?? 120_000);
const SECRET = 'fault-test-secret-fault-test-secret-0123456789';

let release: (() => void) | undefined;
let kafka: KafkaService | undefined;
let chRef: ClickHouseService | undefined;
let chCrash: ClickHouseService | undefined;
let pg: RestartablePostgres | undefined;
let redis: RestartableRedis | undefined;
let script: string | undefined;
const workers = new Set<Worker>();
const dirs: string[] = [];
const log = new Log('serverFaults');

beforeAll(async () => {
  release = await machineLock(9 * 60_000);
  await ensureDebianPrograms([{ binary: '/usr/bin/kcat', pkg: 'kcat' }], 'KAFKA_BROKERS');
  [kafka, chRef, chCrash, pg, redis, script] = await Promise.all([
    startKafka({ ownServer: true, topics: [{ name: 'trades', partitions: PARTITIONS }, { name: 'trades-ref', partitions: PARTITIONS }, { name: 'quotes', partitions: 1 }, { name: 'quotes-ref', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }, { name: 'trades-ref-dead-letter', partitions: 1 }] }),
    startClickHouse({ ownServer: true }),
    startClickHouse({ ownServer: true }),
    startRestartablePostgres(),
    startRestartableRedis(),
    bundle(fileURLToPath(new URL('../../src/cli.ts', import.meta.url)), 'serverCli'),
    // Beside the server bundle: its ingest (Kafka consumer, windows, sinks) runs in this worker thread, as from the build.
    bundle(fileURLToPath(new URL('../../src/server/ingestWorker.ts', import.meta.url)), 'ingestWorker', 'ingestWorker.js'),
  ]);
  await createDatabases(pg.url, ['ref', 'crash']);
  await checkClickHouseFloats(chRef.url);
}, 12 * 60_000);

afterAll(async () => {
  await Promise.all([...workers].map((w) => stopWorker(w).catch(() => undefined)));
  await Promise.all([kafka?.stop(), chRef?.stop(), chCrash?.stop(), pg?.stop(), redis?.stop()].map((p) => p?.catch(() => undefined)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  release?.();
}, 180_000);

/** The reference server as a worker: `tickflow serve` (the bundle) on a free port, full mode from the environment. */
function serverFactory(label: string, env: Record<string, string>): WorkerFactory {
  return serverProcessFactory({ script: script!, label, env, secret: SECRET, dirs, workers });
}

describe('reference server in full mode under SIGKILL of itself, ClickHouse and PostgreSQL', () => {
  it('ends with the same stores as an uninterrupted run, both equal to the oracle; restarts re-read seconds, not days', async () => {
    const started = Date.now();
    selfCheckExactArithmetic();
    const from = Date.UTC(2024, 5, 14, 23, 42, 0);
    const to = Date.UTC(2024, 5, 15, 0, 12, 30);
    const set = generateTrades({ seed: SEED, count: TRADES, partitions: PARTITIONS, symbolsPerPartition: 3, from, to });
    log.line(`seed ${SEED}, kill seed ${KILL_SEED}: ${set.trades.length} trades, ${set.symbols.length} symbols, ${PARTITIONS} partitions, ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`);
    const brokers = kafka!.brokers;

    // ---------------------------------------------------------------- uninterrupted run
    await kcatProduce(brokers, 'trades-ref', set.trades, 'ref');
    const refEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP: 'faults-ref', KAFKA_TRADES_TOPIC: 'trades-ref', KAFKA_QUOTES_TOPIC: 'quotes-ref', CLICKHOUSE_URL: chRef!.url, DATABASE_URL: withDatabase(pg!.url, 'ref'), REDIS_URL: `${redis!.url}/1` };
    const refWorker = await serverFactory('ref', refEnv).start();
    let tFirst = 0;
    const tAll = await eventually(
      'the uninterrupted run to ingest every trade',
      async () => {
        const s = await refWorker.poll();
        if (s !== undefined && s.events > 0 && tFirst === 0) tFirst = Date.now();
        return s !== undefined && s.events >= set.trades.length ? Date.now() : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 100, failWhen: () => (refWorker.process.exitCode === null ? undefined : new Error(`the reference server exited (${refWorker.process.exitCode})`)) },
    );
    const throughput = tAll > 0 ? Math.round(set.trades.length / ((tAll - tFirst) / 1000 || 0.1)) : 0;
    const throughputFromStart = tAll > 0 ? Math.round(set.trades.length / ((tAll - refWorker.started) / 1000)) : 0;
    log.line(`uninterrupted run: ${set.trades.length} trades read in ${((tAll - tFirst) / 1000).toFixed(1)} s: ${throughput} trades/s (${throughputFromStart}/s from process start)`);
    const refSettle = await settle({ worker: refWorker, log, brokers, group: 'faults-ref', topic: 'trades-ref', partitions: PARTITIONS, pgUrl: refEnv.DATABASE_URL, quietMs: 4_000, timeoutMs: 90_000, commitWaitMs: 10_000 });
    const [refCh, refPg] = await Promise.all([readClickHouse(chRef!.url, 'tickflow'), readPostgres(refEnv.DATABASE_URL)]);
    await stopWorker(refWorker);

    // ---------------------------------------------------------------- crash run
    const rnd = new Sfc32(KILL_SEED);
    const killsAt = killSchedule(KILL_SEED, 5, 3_000, 60_000, 6_000);
    const chAt = 12_000 + Math.round(rnd.next() * 16_000);
    const pgAt = 38_000 + Math.round(rnd.next() * 12_000);
    log.line(`crash run script: server kills not before ${killsAt.map((k) => `+${(k / 1000).toFixed(1)}s`).join(' ')} and each 1–4 s (seeded) after the worker got its partitions; ClickHouse killed at +${(chAt / 1000).toFixed(1)}s for 8 s; PostgreSQL at +${(pgAt / 1000).toFixed(1)}s for 6 s; 24 bursts every 2.5 s`);
    const crashEnv = { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP: 'faults-crash', KAFKA_TRADES_TOPIC: 'trades', KAFKA_QUOTES_TOPIC: 'quotes', CLICKHOUSE_URL: chCrash!.url, DATABASE_URL: withDatabase(pg!.url, 'crash'), REDIS_URL: `${redis!.url}/2` };
    const report = await crashRun({
      factory: serverFactory('crash', crashEnv),
      log,
      brokers,
      group: 'faults-crash',
      topic: 'trades',
      partitions: PARTITIONS,
      produce: (b, i) => kcatProduce(brokers, 'trades', b, `crash-${i}`),
      script: {
        bursts: bursts(set, 24),
        burstEveryMs: 2_500,
        killsAt,
        clickhouse: { at: chAt, downMs: 8_000, kill: () => chCrash!.kill(), restart: () => chCrash!.restart() },
        postgres: { at: pgAt, downMs: 6_000, kill: () => pg!.kill(), restart: () => pg!.restart() },
      },
    });
    const crashSettle = await settle({ worker: report.final!, log, brokers, group: 'faults-crash', topic: 'trades', partitions: PARTITIONS, pgUrl: crashEnv.DATABASE_URL, quietMs: 4_000, timeoutMs: 90_000, commitWaitMs: 10_000 });
    const [crashCh, crashPg] = await Promise.all([readClickHouse(chCrash!.url, 'tickflow'), readPostgres(crashEnv.DATABASE_URL)]);

    // ---------------------------------------------------------------- the oracle
    const expected = await expectedFromTopics({ brokers, refTopic: 'trades-ref', crashTopic: 'trades', set, log });

    // ---------------------------------------------------------------- verdict
    judgeFaultRun({
      worker: 'server',
      log,
      set,
      expected,
      stores: { clickhouse: [refCh, crashCh], postgres: [refPg, crashPg] },
      report,
      refSettle,
      crashSettle,
      throughput,
      outagesAt: [chAt, pgAt],
      started,
      detail: (store, ref, crash) => [
        `${store} columns read: ${Object.entries(ref.columns).map(([t, c]) => `${t}(${c.join(',')})`).join(' ')}`,
        ...(store === 'clickhouse' ? [`ClickHouse trades_raw rows before FINAL: uninterrupted ${ref.tradeRowsBeforeFinal}, crash ${crash.tradeRowsBeforeFinal} (replays collapse under FINAL)`] : []),
      ],
    });
  }, 15 * 60_000);
});
