import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPrograms } from './debianPackages.js';
import { freePort, waitFor } from './freePort.js';
import type { RunningService } from './runningService.js';
import { externalService } from './runningService.js';

const BIN = '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL binary, as the `postgres` user when we are root (initdb refuses root). */
export function pg(binary: string, args: string[], asPostgres: boolean): { status: number | null; output: string } {
  const r = asPostgres
    ? spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args], { encoding: 'utf8' })
    : spawnSync(join(BIN, binary), args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function userId(name: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/**
 * Installs Debian's PostgreSQL 15 when missing and runs initdb (trust auth)
 * in a new temporary folder owned by `postgres` when we are root. Returns the
 * folder, its `data` subfolder and whether binaries must run as `postgres`.
 */
export async function initDataDir(prefix: string): Promise<{ asPostgres: boolean; dir: string; data: string }> {
  await ensureDebianPrograms([{ binary: join(BIN, 'initdb'), pkg: 'postgresql-15' }], 'DATABASE_URL');
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asPostgres) {
    const { uid, gid } = userId('postgres');
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const init = pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], asPostgres);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed:\n${init.output.slice(-3000)}`);
  }
  return { asPostgres, dir, data };
}

/** A PostgreSQL server started for tests, which can also be interrupted and brought back (outage tests). */
export interface PostgresService extends RunningService {
  /** Stops the server (`pg_ctl stop -m fast`: open connections are dropped), keeping its data folder and port. */
  stopServer(): Promise<void>;
  /** Starts the stopped server again on the same port with the same data, and waits until it accepts connections. */
  startServer(): Promise<void>;
}

/**
 * A PostgreSQL 15 server on 127.0.0.1 and a free port, in a temporary folder
 * (trust auth, fsync off: for tests only); or the server at DATABASE_URL when
 * set. Installs Debian's postgresql when missing. `stopServer()` and
 * `startServer()` interrupt it and bring it back on the same port and data
 * (own servers only).
 */
export async function startPostgres({ ownServer = false }: { ownServer?: boolean } = {}): Promise<PostgresService> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv && !ownServer) {
    const external = externalService(fromEnv);
    const refuse = (): Promise<void> => Promise.reject(new Error('cannot stop or start the server at DATABASE_URL: call startPostgres({ ownServer: true }) in tests that interrupt the server'));
    return { ...external, stopServer: refuse, startServer: refuse };
  }
  const { asPostgres, dir, data } = await initDataDir('tickflow-pg-');
  const port = await freePort();
  const pgCtlStart = (): void => {
    const start = pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`, '-w', 'start'], asPostgres);
    if (start.status !== 0) throw new Error(`pg_ctl start failed:\n${start.output.slice(-3000)}`);
  };
  try {
    pgCtlStart();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const stop = (): void => {
    pg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'], asPostgres);
  };
  process.once('exit', stop);
  const ready = (): Promise<void> => waitFor(`postgres on port ${port}`, async () => pg('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], false).status === 0, 30_000);
  await ready();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    host: '127.0.0.1',
    port,
    external: false,
    async stop() {
      stop();
      process.off('exit', stop);
      rmSync(dir, { recursive: true, force: true });
    },
    async stopServer() {
      // Fast, not immediate: with synchronous_commit=off an immediate stop
      // would lose the last acknowledged commits, which a real server with
      // durable commits would not. Clients see their connections dropped.
      const r = pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], asPostgres);
      if (r.status !== 0) throw new Error(`pg_ctl stop failed:\n${r.output.slice(-3000)}`);
    },
    async startServer() {
      pgCtlStart();
      await ready();
    },
  };
}
