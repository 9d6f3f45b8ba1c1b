// A consuming process of the fault tests (the reference server or the
// consumer child): its counters, spawning it with its output logged, and
// killing or stopping it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';

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
