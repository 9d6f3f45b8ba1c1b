// The scripted crash run: trades produced in bursts on schedule while the
// worker is SIGKILLed and restarted at seeded moments and ClickHouse and
// PostgreSQL go down and come back; what each kill cost.
import type { Log } from './faultKit.js';
import { sleep } from './faultKit.js';
import type { GenTrade } from './generateTrades.js';
import { groupOffsets, sum } from './kafkaTopic.js';
import { Sfc32 } from './sfc32.js';
import type { Worker, WorkerFactory, WorkerStats } from './worker.js';
import { assignedAll, killWorker } from './worker.js';

/** One kill of the worker and what it cost. */
export interface KillRecord {
  readonly at: number;
  /** Messages produced to the topic when it was killed. */
  readonly produced: number;
  /** Σ over partitions of (high watermark − committed offset) right after the kill: what the next process must read from its start position. */
  readonly behindCommit: number;
  /** The killed process's own lag just before the kill (messages it had not read yet). */
  readonly lagAtKill: number;
  /** Messages the killed process had read that the next one must read again: behindCommit − lagAtKill (exact when the worker reports its messages; else lagAtKill may be up to ~1 s stale). */
  readonly reRead: number;
  /** How reRead was measured. */
  readonly how: string;
  /** Events the next process pushed into its jobs before it first had no lag. */
  catchUpEvents?: number;
  catchUpMs?: number;
  /** Starts that failed (e.g. a store was down) before one came up. */
  failedStarts?: number;
}

/** What a crash run did. */
export interface CrashRunReport {
  readonly kills: KillRecord[];
  readonly outages: string[];
  unexpectedExits: number;
  late: number;
  final: Worker | undefined;
}

/** A scripted crash run. Times in ms from its start. */
export interface CrashScript {
  readonly bursts: readonly (readonly GenTrade[])[];
  readonly burstEveryMs: number;
  readonly killsAt: readonly number[];
  readonly clickhouse: { readonly at: number; readonly downMs: number; kill(): Promise<void>; restart(): Promise<void> };
  readonly postgres: { readonly at: number; readonly downMs: number; kill(): Promise<void>; restart(): Promise<void> };
}

/** Seeded kill times: `n` points in [from, to] at least `gap` apart. */
export function killSchedule(seed: number, n: number, from: number, to: number, gap: number): number[] {
  const rnd = new Sfc32(seed);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const xs = Array.from({ length: n }, () => Math.round(from + rnd.next() * (to - from))).sort((a, b) => a - b);
    if (xs.every((x, i) => i === 0 || x - xs[i - 1]! >= gap)) return xs;
  }
  throw new Error('killSchedule: no schedule fits');
}

/** Starts a worker, retrying (1 s apart) while it exits before it answers, e.g. because a store is down. */
async function startRetrying(factory: WorkerFactory, log: Log, deadline: number): Promise<{ worker: Worker; failed: number }> {
  let failed = 0;
  for (;;) {
    try {
      return { worker: await factory.start(), failed };
    } catch (e) {
      failed++;
      log.line(`worker start failed (${failed}): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      if (Date.now() > deadline) throw e;
      await sleep(1_000);
    }
  }
}

/**
 * The crash run: bursts produced on schedule; the worker SIGKILLed at the
 * scripted moments and started again at once (same group); ClickHouse and
 * PostgreSQL SIGKILLed and restarted after their down time; a worker that
 * dies on its own is restarted too (counted). Returns when every burst is
 * produced and every fault has been played; the last worker keeps running.
 */
export async function crashRun(o: { factory: WorkerFactory; script: CrashScript; log: Log; brokers: readonly string[]; group: string; topic: string; partitions: number; produce: (b: readonly GenTrade[], i: number) => Promise<void> }): Promise<CrashRunReport> {
  const { log, script } = o;
  const t0 = Date.now();
  const at = (ms: number): Promise<void> => sleep(Math.max(0, t0 + ms - Date.now()));
  const report: CrashRunReport = { kills: [], outages: [], unexpectedExits: 0, late: 0, final: undefined };
  let produced = 0;
  let current: Worker | undefined;
  let intentional = false;
  let lastStats: WorkerStats | undefined;
  let baseMessages = 0; // committed offsets (Σ) the current worker started from
  const deadline = t0 + 10 * 60_000;
  let stopped = false;

  // One start at a time: a worker that dies on its own while a kill's restart is still retrying (a store
  // down) must not get a second worker started, or two members of one group would share the partitions.
  let starting: Promise<{ worker: Worker; failed: number }> | undefined;
  const startOnce = (): Promise<{ worker: Worker; failed: number }> =>
    (starting ??= startRetrying(o.factory, log, deadline).finally(() => {
      starting = undefined;
    }));
  const adopt = async (w: Worker): Promise<void> => {
    if (current === w) return;
    current = w;
    lastStats = undefined;
    void w.exit.then(async ({ code, signal }) => {
      if (intentional || current !== w || stopped) return;
      report.unexpectedExits++;
      log.line(`worker ${w.pid} exited on its own (code ${code}, signal ${signal}); restarting it. Output tail: ${w.output().slice(-600)}`);
      const s = await startOnce();
      await adopt(s.worker);
    });
  };
  const poller = (async () => {
    while (!stopped) {
      const w = current;
      if (w !== undefined) {
        const s = await w.poll().catch(() => undefined);
        if (s !== undefined && w === current) {
          if (lastStats !== undefined && s.late > lastStats.late) report.late += s.late - lastStats.late;
          else if (lastStats === undefined) report.late += s.late;
          lastStats = s;
        }
      }
      await sleep(150);
    }
  })();

  const first = await startOnce();
  await adopt(first.worker);
  log.line(`worker ${first.worker.pid} up`);

  const bursts = (async () => {
    for (let i = 0; i < script.bursts.length; i++) {
      await at(i * script.burstEveryMs);
      await o.produce(script.bursts[i]!, i);
      produced += script.bursts[i]!.length;
    }
    log.line(`all ${script.bursts.length} bursts produced (${produced} trades)`);
  })();

  const kills = (async () => {
    const rnd = new Sfc32(script.killsAt.length * 7919 + (script.killsAt[0] ?? 0));
    for (const k of script.killsAt) {
      await at(k);
      // Never kill a worker that has not got its partitions yet (a dead predecessor's session holds the
      // group for up to 10 s): wait until it has them, then a seeded 1–4 s of consuming.
      const delay = 1_000 + Math.round(rnd.next() * 3_000);
      for (;;) {
        const w0 = current;
        const s0 = w0 === undefined ? undefined : await w0.poll().catch(() => undefined);
        if (w0 !== undefined && s0 !== undefined && assignedAll(w0, s0, o.partitions)) break;
        await sleep(100);
      }
      await sleep(delay);
      const w = current!;
      // A fresh reading just before the kill.
      const before = (await w.poll().catch(() => undefined)) ?? lastStats;
      intentional = true;
      await killWorker(w);
      intentional = false;
      const offs = await groupOffsets(o.brokers, o.group, o.topic);
      const behindCommit = sum(offs.high) - sum(offs.committed);
      const lagAtKill = before?.lag ?? 0;
      let reRead: number;
      let how: string;
      if (before?.messages !== undefined) {
        // Exact: the killed process read from its start offsets (Σ baseMessages) `messages` messages.
        reRead = Math.max(0, baseMessages + before.messages - sum(offs.committed));
        how = 'position(start offsets + messages read) − committed';
      } else {
        reRead = Math.max(0, behindCommit - lagAtKill);
        how = '(high − committed) − lag just before the kill';
      }
      const rec: KillRecord = { at: Date.now() - t0, produced, behindCommit, lagAtKill, reRead, how };
      report.kills.push(rec);
      log.line(`KILL ${report.kills.length} of worker ${w.pid} at +${(rec.at / 1000).toFixed(1)}s: produced ${produced}, committed ${sum(offs.committed)}, high ${sum(offs.high)}, behind commit ${behindCommit}, lag at kill ${lagAtKill}, re-read ${reRead} [${how}]`);
      baseMessages = sum(offs.committed);
      const restartAt = Date.now();
      const s = await startOnce();
      rec.failedStarts = s.failed;
      await adopt(s.worker);
      log.line(`worker ${s.worker.pid} up after ${Date.now() - restartAt} ms (${s.failed} failed starts)`);
      // Catch-up: events until it first has no lag.
      void (async () => {
        const w2 = s.worker;
        const t1 = Date.now();
        while (current === w2 && Date.now() - t1 < 120_000) {
          const st = await w2.poll().catch(() => undefined);
          if (st !== undefined && st.lag === 0 && assignedAll(w2, st, o.partitions)) {
            rec.catchUpEvents = st.events;
            rec.catchUpMs = Date.now() - t1;
            return;
          }
          await sleep(200);
        }
      })();
    }
  })();

  const outage = async (which: 'ClickHouse' | 'PostgreSQL', f: CrashScript['clickhouse']): Promise<void> => {
    await at(f.at);
    const t = Date.now();
    await f.kill();
    log.line(`${which} SIGKILLed at +${((t - t0) / 1000).toFixed(1)}s`);
    await sleep(f.downMs);
    await f.restart();
    const down = Date.now() - t;
    log.line(`${which} back after ${down} ms`);
    report.outages.push(`${which} down ${(down / 1000).toFixed(1)} s from +${((t - t0) / 1000).toFixed(1)} s`);
  };

  await Promise.all([bursts, kills, outage('ClickHouse', script.clickhouse), outage('PostgreSQL', script.postgres)]);
  stopped = true;
  await poller;
  report.final = current;
  return report;
}
