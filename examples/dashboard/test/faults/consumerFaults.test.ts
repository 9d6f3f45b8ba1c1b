/**
 * Fault test of `kafkaConsumer` (@tickflow/core/kafka) used as a library,
 * without the reference server: a child process (faultConsumerChild.ts,
 * bundled from the workspace sources) consumes trades into the same jobs as
 * the server's Kafka ingest (candles 1m…1d, volume profiles 1m 5m, tick
 * counts 1m, raw trades; out-of-orderness 1 s, grace 5 s, idle timeout 5 s)
 * and writes them to ClickHouse and PostgreSQL sinks.
 *
 * Same data design, oracle, faults and assertions as serverFaults.test.ts
 * (read its header): an uninterrupted run on a backlog topic; a crash run
 * while 24 bursts are produced, with 5 seeded SIGKILLs of the child,
 * ClickHouse SIGKILLed for 8 s and PostgreSQL for 6 s; every row of every
 * table against the oracle and against the uninterrupted run (every column,
 * rev and final included); raw trades exactly once; re-read per restart.
 *
 * Differences from the server test
 * - 100 k trades, other seeds (FAULT_LIB_SEED, FAULT_LIB_KILL_SEED).
 * - One ClickHouse server, a database per run (the uninterrupted run's rows
 *   are read before the crash run kills the server); one PostgreSQL
 *   database, a schema per run.
 * - Re-read per restart is exact: the child reports the messages it read
 *   (kafkaConsumer stats), so the killed process's position is its start
 *   offsets plus those, and re-read = position − committed offsets.
 * - The child passes `idleTimeout: '5s'` and, when '@tickflow/core/kafka'
 *   exports `fileCheckpoints`, `checkpoints: fileCheckpoints(dir)` (one folder
 *   per run, kept across its restarts); see the TODO in the child.
 * - Takes about 3–4 minutes on 2 cores; the two fault test files take the
 *   machine in turn (a lock in /tmp).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPrograms, eventually, startClickHouse, startKafka, startRestartablePostgres } from '@tickflow/test-services';
import type { ClickHouseService, KafkaService, RestartablePostgres } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { crashRun, killSchedule } from './crashRun.js';
import { selfCheckExactArithmetic } from './exactArithmetic.js';
import { CACHE, Log, bundle, machineLock } from './faultKit.js';
import { bursts, generateTrades } from './generateTrades.js';
import { expectedFromTopics, judgeFaultRun } from './judgeFaultRun.js';
import { kcatProduce } from './kafkaTopic.js';
import { checkClickHouseFloats, readClickHouse } from './readClickHouse.js';
import { readPostgres } from './readPostgres.js';
import { settle } from './settle.js';
import { Sfc32 } from './sfc32.js';
import type { Worker, WorkerFactory, WorkerStats } from './worker.js';
import { spawnLogged, stopWorker } from './worker.js';

const SEED = Number(process.env.FAULT_LIB_SEED ?? 7_770_001);
const KILL_SEED = Number(process.env.FAULT_LIB_KILL_SEED ?? SEED + 1);
const PARTITIONS = 16;
const TRADES = Number(process.env.FAULT_LIB_TRADES ?? 100_000);

let release: (() => void) | undefined;
let kafka: KafkaService | undefined;
let ch: ClickHouseService | undefined;
let pg: RestartablePostgres | undefined;
let script: string | undefined;
const workers = new Set<Worker>();
const dirs: string[] = [];
const log = new Log('consumerFaults');

beforeAll(async () => {
  release = await machineLock(9 * 60_000);
  await ensureDebianPrograms([{ binary: '/usr/bin/kcat', pkg: 'kcat' }], 'KAFKA_BROKERS');
  [kafka, ch, pg, script] = await Promise.all([
    startKafka({ ownServer: true, topics: [{ name: 'trades', partitions: PARTITIONS }, { name: 'trades-ref', partitions: PARTITIONS }] }),
    startClickHouse({ ownServer: true }),
    startRestartablePostgres(),
    bundle(fileURLToPath(new URL('./faultConsumerChild.ts', import.meta.url)), 'faultConsumerChild'),
  ]);
  await checkClickHouseFloats(ch.url);
}, 12 * 60_000);

afterAll(async () => {
  await Promise.all([...workers].map((w) => stopWorker(w).catch(() => undefined)));
  await Promise.all([kafka?.stop(), ch?.stop(), pg?.stop()].map((p) => p?.catch(() => undefined)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  release?.();
}, 60_000);

interface ChildStats {
  events: number;
  messages: number;
  skipped: number;
  consumerLate: number;
  lag: number;
  late: number;
  commits: number;
  assignments: number;
  partitions: number;
  accepted: number;
  written: number;
  buffered: number;
  t: number;
}

/** The consumer child as a worker. */
function childFactory(label: string, env: Record<string, string>): WorkerFactory {
  const checkpoints = mkdtempSync(join(tmpdir(), `tickflow-faults-checkpoints-${label}-`));
  dirs.push(checkpoints);
  let n = 0;
  return {
    async start() {
      n++;
      const p = spawnLogged([script!], { ...process.env, ...env, CHECKPOINT_DIR: checkpoints }, join(CACHE, `child-${label}-${n}.${process.pid}.log`));
      let last: ChildStats | undefined;
      let lastAt = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          p.child.kill('SIGKILL');
          reject(new Error(`consumer child ${label} #${n} reported nothing in 60 s: ${p.text().slice(-1500)}`));
        }, 60_000);
        p.onLine((l) => {
          if (l.startsWith('STATS ')) {
            last = JSON.parse(l.slice(6)) as ChildStats;
            lastAt = Date.now();
            clearTimeout(timer);
            resolve();
          } else if (l.startsWith('OPTIONS') && n === 1) log.line(`${label} child: ${l}`);
        });
        void p.exit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`consumer child ${label} #${n} exited (${code ?? signal}) before it ran: ${p.text().slice(-1500).replace(/\s+/g, ' ')}`));
        });
      });
      const worker: Worker = {
        pid: p.child.pid!,
        started: Date.now(),
        exit: p.exit,
        process: p.child,
        output: p.text,
        async poll(): Promise<WorkerStats | undefined> {
          if (last === undefined || Date.now() - lastAt > 1_000) return undefined;
          return { events: last.events, messages: last.messages, lag: last.lag, late: Math.max(last.late, last.consumerLate ?? 0), activity: `${last.accepted}/${last.written}/${last.commits}`, buffered: last.buffered, assigned: last.partitions };
        },
      };
      workers.add(worker);
      void p.exit.then(() => workers.delete(worker));
      return worker;
    },
  };
}

describe('kafkaConsumer (library) under SIGKILL of the consumer, ClickHouse and PostgreSQL', () => {
  it('ends with the same stores as an uninterrupted run, both equal to the oracle; restarts re-read seconds, not days', async () => {
    const started = Date.now();
    selfCheckExactArithmetic(2);
    const from = Date.UTC(2024, 2, 30, 23, 44, 0);
    const to = Date.UTC(2024, 2, 31, 0, 13, 40);
    const set = generateTrades({ seed: SEED, count: TRADES, partitions: PARTITIONS, symbolsPerPartition: 3, from, to });
    log.line(`seed ${SEED}, kill seed ${KILL_SEED}: ${set.trades.length} trades, ${set.symbols.length} symbols, ${PARTITIONS} partitions, ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`);
    const brokers = kafka!.brokers;
    const base = { BROKERS: brokers.join(','), CH_URL: ch!.url, PG_URL: pg!.url };

    // ---------------------------------------------------------------- uninterrupted run
    await kcatProduce(brokers, 'trades-ref', set.trades, 'lib-ref');
    const refEnv = { ...base, TOPIC: 'trades-ref', GROUP: 'lib-ref', CH_DB: 'lib_ref', PG_SCHEMA: 'lib_ref' };
    const refWorker = await childFactory('ref', refEnv).start();
    let tFirst = 0;
    const tAll = await eventually(
      'the uninterrupted run to read every message',
      async () => {
        const s = await refWorker.poll();
        if (s !== undefined && (s.messages ?? 0) > 0 && tFirst === 0) tFirst = Date.now();
        return s !== undefined && (s.messages ?? 0) >= set.trades.length ? Date.now() : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 100, failWhen: () => (refWorker.process.exitCode === null ? undefined : new Error(`the reference worker exited (${refWorker.process.exitCode})`)) },
    );
    const throughput = tAll > 0 ? Math.round(set.trades.length / ((tAll - tFirst) / 1000 || 0.1)) : 0;
    log.line(`uninterrupted run: ${set.trades.length} messages read in ${((tAll - tFirst) / 1000).toFixed(1)} s: ${throughput} trades/s`);
    const refSettle = await settle({ worker: refWorker, log, brokers, group: 'lib-ref', topic: 'trades-ref', partitions: PARTITIONS, pgUrl: pg!.url, pgSchema: 'lib_ref', quietMs: 4_000, timeoutMs: 90_000, commitWaitMs: 10_000 });
    const [refCh, refPg] = await Promise.all([readClickHouse(ch!.url, 'lib_ref'), readPostgres(pg!.url, 'lib_ref')]);
    await stopWorker(refWorker);

    // ---------------------------------------------------------------- crash run
    const rnd = new Sfc32(KILL_SEED);
    const killsAt = killSchedule(KILL_SEED, 5, 3_000, 60_000, 6_000);
    const chAt = 12_000 + Math.round(rnd.next() * 16_000);
    const pgAt = 38_000 + Math.round(rnd.next() * 12_000);
    log.line(`crash run script: child kills not before ${killsAt.map((k) => `+${(k / 1000).toFixed(1)}s`).join(' ')} and each 1–4 s (seeded) after the worker got its partitions; ClickHouse killed at +${(chAt / 1000).toFixed(1)}s for 8 s; PostgreSQL at +${(pgAt / 1000).toFixed(1)}s for 6 s; 24 bursts every 2.5 s`);
    const crashEnv = { ...base, TOPIC: 'trades', GROUP: 'lib-crash', CH_DB: 'lib_crash', PG_SCHEMA: 'lib_crash' };
    const report = await crashRun({
      factory: childFactory('crash', crashEnv),
      log,
      brokers,
      group: 'lib-crash',
      topic: 'trades',
      partitions: PARTITIONS,
      produce: (b, i) => kcatProduce(brokers, 'trades', b, `lib-crash-${i}`),
      script: {
        bursts: bursts(set, 24),
        burstEveryMs: 2_500,
        killsAt,
        clickhouse: { at: chAt, downMs: 8_000, kill: () => ch!.kill(), restart: () => ch!.restart() },
        postgres: { at: pgAt, downMs: 6_000, kill: () => pg!.kill(), restart: () => pg!.restart() },
      },
    });
    const crashSettle = await settle({ worker: report.final!, log, brokers, group: 'lib-crash', topic: 'trades', partitions: PARTITIONS, pgUrl: pg!.url, pgSchema: 'lib_crash', quietMs: 4_000, timeoutMs: 90_000, commitWaitMs: 10_000 });
    const [crashCh, crashPg] = await Promise.all([readClickHouse(ch!.url, 'lib_crash'), readPostgres(pg!.url, 'lib_crash')]);

    // ---------------------------------------------------------------- the oracle
    const expected = await expectedFromTopics({ brokers, refTopic: 'trades-ref', crashTopic: 'trades', set, log });

    // ---------------------------------------------------------------- verdict
    judgeFaultRun({
      worker: 'consumer',
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
    });
  }, 15 * 60_000);
});
