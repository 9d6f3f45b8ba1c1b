// The reference server as a fault-test worker process (shared by the server
// fault test and the scale-out test).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE } from './faultKit.js';
import type { Worker, WorkerFactory, WorkerStats } from './worker.js';
import { spawnLogged } from './worker.js';

export interface Healthz {
  events: number;
  late: number;
  /** Newer servers: the trades consumer's own counters. */
  kafka?: { messages?: number; lag?: number; late?: number; partitions?: number[] };
  stores?: { stores: Record<string, { sinks: Record<string, { rowsAccepted: number; rowsWritten: number; buffered: number }> }> };
}

/**
 * The reference server as a worker: `tickflow serve` (the bundled `script`) on
 * a free port, full mode from `env`, its data dir under the system temp dir
 * (added to `dirs`), each started process tracked in `workers` until it exits.
 * `poll()` reads /healthz and /metrics.
 */
export function serverProcessFactory(o: { script: string; label: string; env: Record<string, string>; secret: string; dirs: string[]; workers: Set<Worker> }): WorkerFactory & { url(): string | undefined } {
  const { script, label, env, secret, dirs, workers } = o;
  const dataDir = mkdtempSync(join(tmpdir(), `tickflow-faults-${label}-`));
  dirs.push(dataDir);
  let current: string | undefined;
  let n = 0;
  return {
    url: () => current,
    async start() {
      n++;
      const p = spawnLogged([script, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], { ...process.env, ...env, JWT_SECRET: secret, PORT: '', LOG_LEVEL: 'warn' }, join(CACHE, `server-${label}-${n}.${process.pid}.log`));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          p.child.kill('SIGKILL');
          reject(new Error(`server ${label} #${n} printed no URL in 60 s: ${p.text().slice(-1500)}`));
        }, 60_000);
        p.onLine((l) => {
          const m = /live dashboard on (http:\/\/[\d.:]+)/.exec(l);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        void p.exit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`server ${label} #${n} exited (${code ?? signal}) before it listened: ${p.text().slice(-1500).replace(/\s+/g, ' ')}`));
        });
      });
      current = url;
      const topic = env.KAFKA_TRADES_TOPIC!;
      const worker: Worker = {
        pid: p.child.pid!,
        started: Date.now(),
        exit: p.exit,
        process: p.child,
        output: p.text,
        async poll(): Promise<WorkerStats | undefined> {
          const [h, m] = await Promise.all([
            fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.json() as Promise<Healthz>),
            fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text()),
          ]);
          const lag = Number(new RegExp(`tickflow_kafka_consumer_lag_messages\\{topic="${topic}",partition="all"\\} (\\d+)`).exec(m)?.[1] ?? NaN);
          let accepted = 0, written = 0, buffered = 0;
          for (const s of Object.values(h.stores?.stores ?? {})) {
            for (const k of Object.values(s.sinks)) {
              accepted += k.rowsAccepted;
              written += k.rowsWritten;
              buffered += k.buffered;
            }
          }
          // The consumer's own counters when /healthz has them (exact re-read), else the lag gauge (refreshed every second).
          const k = h.kafka;
          return { events: h.events, messages: k?.messages, lag: k?.lag ?? (Number.isNaN(lag) ? 0 : lag), late: Math.max(h.late, k?.late ?? 0), activity: `${accepted}/${written}`, buffered, assigned: k?.partitions?.length };
        },
      };
      workers.add(worker);
      void p.exit.then(() => workers.delete(worker));
      return worker;
    },
  };
}

