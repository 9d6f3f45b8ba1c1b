// Harness of the fault tests: services, kcat production and read-back, the
// workers (reference server or consumer child) as killable processes, the
// scripted crash run, settling, and the report.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import postgres from 'postgres';
import { bundleScript, repoRoot } from '../bundleScript.js';
import type { GenTrade, Placement, TradeSet } from './oracle.js';
import { Sfc32 } from './oracle.js';

export { repoRoot };

export const CACHE = join(repoRoot(), '.cache', 'fault-tests');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A log that goes to the console and to `.cache/fault-tests/<name>.log`. */
export class Log {
  readonly path: string;
  private readonly t0 = Date.now();

  constructor(readonly name: string) {
    mkdirSync(CACHE, { recursive: true });
    this.path = join(CACHE, `${name}.log`);
    writeFileSync(this.path, '');
  }

  line(text: string): void {
    const s = `[${this.name} +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${text}`;
    appendFileSync(this.path, `${s}\n`);
    console.info(s);
  }
}

/**
 * The two fault tests each load the whole machine (2 cores): they take it in
 * turn, through a lock folder holding the owner's pid (a dead owner's lock is
 * taken over).
 */
export async function machineLock(timeoutMs: number): Promise<() => void> {
  const dir = '/tmp/tickflow-fault-tests.lock';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // being written
      }
      let dead = false;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
        } catch {
          dead = true;
        }
      }
      if (dead) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`the other fault test (pid ${owner}) held the machine for ${timeoutMs} ms`);
      else await sleep(500);
    }
  }
}

/**
 * Bundles a script from the workspace sources (`@tickflow/source`), npm
 * packages left external, into .cache/fault-tests, as `<label>.<pid>.mjs` or
 * as `fileName` (the server finds its ingest worker as `ingestWorker.js` beside it).
 */
export async function bundle(entry: string, label: string, fileName?: string): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  // FAULT_SOURCE_ROOT: a copy of the repository (e.g. `git archive` of a commit, with node_modules
  // whose @tickflow links point into it) whose sources to test instead of this work tree's.
  const root = process.env.FAULT_SOURCE_ROOT;
  if (root !== undefined && root !== '') {
    const rel = relative(repoRoot(), entry);
    const target = join(root, rel);
    if (rel.startsWith(join('examples', 'dashboard', 'test', 'faults'))) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(entry, target);
    }
    entry = target;
  }
  return bundleScript(entry, join(CACHE, fileName ?? `${label}.${process.pid}.mjs`));
}

// ---------------------------------------------------------------- Kafka

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString(), err }));
    c.stdin.end(input ?? '');
  });
}

/** Produces trades with kcat (key = symbol, murmur2 like Kafka's Java client and kafkajs), in order, waiting for every delivery. */
export async function kcatProduce(brokers: readonly string[], topic: string, trades: readonly GenTrade[], tag: string): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `produce.${process.pid}.${tag}.txt`);
  writeFileSync(file, trades.map((t) => `${t.symbol}\t${JSON.stringify({ symbol: t.symbol, ts: t.ts, price: t.price, size: t.size, side: t.side, id: t.id })}`).join('\n') + '\n');
  const r = await run('kcat', ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'max.in.flight.requests.per.connection=1', '-l', file]);
  rmSync(file, { force: true });
  if (r.code !== 0) throw new Error(`kcat -P ${topic} failed (${r.code}): ${r.err.slice(-2000)}`);
}

/** Reads a whole topic with kcat: where each trade id landed, and what else is there. */
export async function kcatReadTopic(brokers: readonly string[], topic: string): Promise<{ placement: Map<string, Placement>; count: number; undecodable: number; duplicates: number; keyMismatch: number }> {
  const r = await run('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%k\t%s\n']);
  if (r.code !== 0) throw new Error(`kcat -C ${topic} failed (${r.code}): ${r.err.slice(-2000)}`);
  const placement = new Map<string, Placement>();
  let count = 0, undecodable = 0, duplicates = 0, keyMismatch = 0;
  for (const line of r.out.split('\n')) {
    if (line === '') continue;
    count++;
    const [p, o, k, ...rest] = line.split('\t');
    try {
      const v = JSON.parse(rest.join('\t')) as { id: string; symbol: string };
      if (placement.has(v.id)) duplicates++;
      if (v.symbol !== k) keyMismatch++;
      placement.set(v.id, { partition: Number(p), offset: Number(o) });
    } catch {
      undecodable++;
    }
  }
  return { placement, count, undecodable, duplicates, keyMismatch };
}

/** Committed offsets of a group and the high and low watermarks, per partition. */
export async function groupOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<{ committed: number[]; high: number[]; low: number[] }> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
  await admin.connect();
  try {
    const [c, ends] = await Promise.all([admin.fetchOffsets({ groupId, topics: [topic] }), admin.fetchTopicOffsets(topic)]);
    const n = ends.length;
    const committed = new Array<number>(n).fill(0);
    const high = new Array<number>(n).fill(0);
    const low = new Array<number>(n).fill(0);
    for (const p of c[0]?.partitions ?? []) committed[p.partition] = Math.max(0, Number(p.offset));
    for (const e of ends) {
      high[e.partition] = Number(e.high);
      low[e.partition] = Number(e.low);
    }
    return { committed, high, low };
  } finally {
    await admin.disconnect();
  }
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------- PostgreSQL

export async function createDatabases(url: string, names: readonly string[]): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const n of names) await sql.unsafe(`CREATE DATABASE ${n}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A cheap fingerprint of the PostgreSQL store's window tables (changes whenever a row is written). */
export async function pgFingerprint(url: string, schema = 'public'): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await sql.unsafe(`SELECT (SELECT count(*) || '/' || coalesce(max(written_at)::text, '') FROM "${schema}".ohlc) AS o, (SELECT count(*) FROM "${schema}".trades) AS t, (SELECT coalesce(max(written_at)::text, '') FROM "${schema}".volume_profiles) AS p, (SELECT coalesce(max(written_at)::text, '') FROM "${schema}".tick_counts) AS k`);
    return JSON.stringify(rows[0]);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

// ---------------------------------------------------------------- workers

/** What a worker reports about itself. */
export interface WorkerStats {
  /** Events pushed into the jobs since the process started. */
  readonly events: number;
  /** Kafka messages read since the process started, when the worker reports it (the library child does; the server does not). */
  readonly messages: number | undefined;
  /** Messages behind the high watermark. */
  readonly lag: number;
  /** Events dropped as late. */
  readonly late: number;
  /** Changes whenever the worker hands rows to its sinks or they write them. */
  readonly activity: string;
  /** Rows buffered in sinks, not yet durable. */
  readonly buffered: number;
  /** Partitions assigned to it now, when it reports them (before its first assignment its lag reads 0). */
  readonly assigned: number | undefined;
}

/**
 * Whether a worker has its partitions: exactly when it reports them; else
 * (older servers) once it has run longer than a dead predecessor's session
 * can hold the group (10 s) and has pushed events.
 */
export function assignedAll(w: Worker, s: WorkerStats, partitions: number): boolean {
  return s.assigned !== undefined ? s.assigned === partitions : Date.now() - w.started > 15_000 && s.events > 0;
}

/** A consuming process (the reference server or the library child). */
export interface Worker {
  readonly pid: number;
  readonly started: number;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Current counters (undefined while it cannot answer). */
  poll(): Promise<WorkerStats | undefined>;
  /** Text it printed (tail). */
  output(): string;
  readonly process: ChildProcess;
}

export interface WorkerFactory {
  /** Starts a worker; resolves once it answers poll() (or rejects when it exits first). */
  start(): Promise<Worker>;
}

/** Spawns a node script with output to a log file; resolves its exit. */
export function spawnLogged(args: string[], env: NodeJS.ProcessEnv, logPath: string): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; text: () => string; onLine: (f: (line: string) => void) => void } {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let text = '';
  let partial = '';
  const listeners: ((line: string) => void)[] = [];
  const take = (d: Buffer): void => {
    const s = d.toString();
    appendFileSync(logPath, s);
    text = (text + s).slice(-200_000);
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) for (const f of listeners) f(l);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exit, text: () => text, onLine: (f) => listeners.push(f) };
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of liveChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** SIGKILLs a worker and waits for it to be gone. */
export async function killWorker(w: Worker): Promise<void> {
  if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGKILL');
  await w.exit;
}

/** SIGTERMs a worker (graceful) and waits, SIGKILL after 15 s. */
export async function stopWorker(w: Worker): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGTERM');
  const t = setTimeout(() => w.process.kill('SIGKILL'), 15_000);
  const r = await w.exit;
  clearTimeout(t);
  return r;
}

// ---------------------------------------------------------------- runs

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

/**
 * Waits until the worker has read everything (`total` messages on the topic
 * and no lag), the partitions have been quiet long enough for the idle
 * timeout to close the windows, and the worker and the PostgreSQL store
 * have been unchanged for `quietMs`. Then waits (up to `commitWaitMs`) for
 * every partition's committed offset to reach the high watermark. Soft:
 * reports what it reached instead of throwing.
 */
export async function settle(o: { worker: Worker; log: Log; brokers: readonly string[]; group: string; topic: string; partitions: number; pgUrl: string; pgSchema?: string; quietMs: number; timeoutMs: number; commitWaitMs: number }): Promise<{ quiet: boolean; caughtUp: boolean; committedToEnd: boolean; behindCommit: number; lag: number; late: number }> {
  const t0 = Date.now();
  let last = '';
  let since = Date.now();
  let quiet = false;
  let caughtUp = false;
  let lag = -1;
  let late = 0;
  while (Date.now() - t0 < o.timeoutMs) {
    const s = await o.worker.poll().catch(() => undefined);
    const pgf = await pgFingerprint(o.pgUrl, o.pgSchema).catch((e: unknown) => `pg error ${String(e)}`);
    if (s !== undefined) {
      lag = s.lag;
      late = s.late;
      caughtUp = s.lag === 0 && assignedAll(o.worker, s, o.partitions);
    }
    const fp = `${s?.events}|${s?.activity}|${s?.buffered}|${pgf}`;
    if (fp !== last || s === undefined || !caughtUp || s.buffered > 0) {
      last = fp;
      since = Date.now();
    } else if (Date.now() - since >= o.quietMs) {
      quiet = true;
      break;
    }
    await sleep(250);
  }
  o.log.line(`settle: quiet=${quiet} after ${Date.now() - t0} ms (caught up ${caughtUp}, lag ${lag}, late ${late})`);
  let offs = await groupOffsets(o.brokers, o.group, o.topic);
  const t1 = Date.now();
  while (sum(offs.high) - sum(offs.committed) > 0 && Date.now() - t1 < o.commitWaitMs) {
    await sleep(500);
    offs = await groupOffsets(o.brokers, o.group, o.topic);
  }
  const behindCommit = sum(offs.high) - sum(offs.committed);
  o.log.line(`settle: committed ${sum(offs.committed)} of ${sum(offs.high)} (per partition behind: ${offs.high.map((h, i) => h - offs.committed[i]!).join(',')})`);
  return { quiet, caughtUp, committedToEnd: behindCommit === 0, behindCommit, lag, late };
}

/** Splits trades (in production order) into `n` consecutive bursts. */
export function bursts(set: TradeSet, n: number): GenTrade[][] {
  const out: GenTrade[][] = [];
  const per = Math.ceil(set.trades.length / n);
  for (let i = 0; i < set.trades.length; i += per) out.push(set.trades.slice(i, i + per));
  return out;
}
