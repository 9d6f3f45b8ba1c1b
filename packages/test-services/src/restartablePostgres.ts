import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './freePort.js';
import { initDataDir, pg } from './postgres.js';
import type { RunningService } from './runningService.js';

/** A PostgreSQL server that a crash test may SIGKILL and start again on the same port and data. */
export interface RestartablePostgres extends RunningService {
  /** The data folder. */
  readonly dataDir: string;
  /**
   * Crashes the server: stops the postmaster (SIGSTOP, so it forks no more),
   * then SIGKILLs each of its children and the postmaster, by pid, and waits
   * until they are gone. No shutdown checkpoint: the next start recovers from
   * the WAL. Commits acknowledged before the kill survive (synchronous_commit
   * is on; fsync is off, which only matters if the machine itself crashes).
   */
  kill(): Promise<void>;
  /** Starts the killed server again (same port, same data; crash recovery) and waits until it accepts connections. */
  restart(): Promise<void>;
  /** Whether the server is up (started and not killed). */
  readonly running: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * A PostgreSQL 15 server on 127.0.0.1 and a free port, in a temporary
 * folder (trust auth), always started by this harness (DATABASE_URL is not
 * used: the test kills it). Unlike startPostgres, commits are synchronous, so
 * a SIGKILL loses nothing a client was told is committed, as with a real
 * server; fsync and full-page writes stay off (a process crash, not a power
 * cut, is what tests simulate).
 *
 * @example
 * ```ts
 * const pg = await startRestartablePostgres();
 * await pg.kill();     // every server process SIGKILLed: clients see connection errors
 * await pg.restart();  // same port and data, after crash recovery
 * await pg.stop();
 * ```
 */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const { asPostgres, dir, data } = await initDataDir('tickflow-pg-crash-');
  const port = await freePort();
  let running = false;
  const start = async (): Promise<void> => {
    const r = pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on -c full_page_writes=off -c max_connections=200`, '-w', '-t', '60', 'start'], asPostgres);
    if (r.status !== 0) throw new Error(`pg_ctl start failed:\n${r.output.slice(-3000)}\n${tailLog(join(dir, 'log'))}`);
    await waitFor(`postgres on port ${port}`, async () => pg('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], false).status === 0, 60_000);
    running = true;
  };
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const crash = (): number[] => {
    const pid = postmasterPid();
    if (pid === undefined) return [];
    process.kill(pid, 'SIGSTOP');
    const victims = [...childrenOf(pid), pid];
    for (const p of victims) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    return victims;
  };
  const onExit = (): void => {
    crash();
  };
  try {
    await start();
  } catch (e) {
    crash();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  process.once('exit', onExit);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    host: '127.0.0.1',
    port,
    external: false,
    dataDir: data,
    get running() {
      return running;
    },
    async kill() {
      running = false;
      const victims = crash();
      const deadline = Date.now() + 10_000;
      while (victims.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    async restart() {
      if (postmasterPid() !== undefined) throw new Error(`postgres on port ${port} is still running; kill() it first`);
      await start();
    },
    async stop() {
      process.off('exit', onExit);
      if (postmasterPid() !== undefined) pg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'], asPostgres);
      crash();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tailLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}
