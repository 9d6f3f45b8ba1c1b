import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPrograms } from './debianPackages.js';
import { freePort, waitFor } from './freePort.js';
import type { RunningService } from './runningService.js';
import { isRunning, killOnExit, stopChild } from './runningService.js';

// Debian's package puts the server in /usr/sbin (clickhouse-server 18.16).
const SERVER = '/usr/sbin/clickhouse-server';
const CONFIG = '/etc/clickhouse-server/config.xml';

/** Options of startClickHouse. */
export interface ClickHouseOptions {
  /** Ignore CLICKHOUSE_URL and always start a server (tests that kill and restart it). Default false. */
  readonly ownServer?: boolean;
}

/**
 * A ClickHouse server started for tests. Besides `stop()`, a server this
 * harness started can be killed (SIGKILL, data kept) and restarted on the
 * same ports and data folder, for outage tests.
 */
export interface ClickHouseService extends RunningService {
  /** The server's folder (data, tmp, logs); undefined for an external server. */
  readonly dir: string | undefined;
  /** Kills the server with SIGKILL (no shutdown), keeping its folder and ports reserved for `restart()`. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and folder and waits until `GET /ping` answers. */
  restart(): Promise<void>;
}

/** Several ClickHouse servers (shards) started for tests. */
export interface ClickHouseShards {
  readonly urls: readonly string[];
  readonly services: readonly ClickHouseService[];
  /** Stops every server this harness started. */
  stop(): Promise<void>;
}

async function ping(url: string): Promise<boolean> {
  const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2_000) });
  return res.ok && (await res.text()).startsWith('Ok');
}

function externalClickHouse(url: string): ClickHouseService {
  const u = new URL(url);
  const refuse = async (): Promise<void> => {
    throw new Error(`the ClickHouse server at ${url} comes from CLICKHOUSE_URL; kill()/restart() only work on servers the harness started (pass { ownServer: true })`);
  };
  return { url: url.replace(/\/+$/, ''), host: u.hostname, port: Number(u.port || 8123), external: true, dir: undefined, stop: async () => {}, kill: refuse, restart: refuse };
}

/** The URLs in CLICKHOUSE_URL (comma-separated), or none. */
function envUrls(): string[] {
  return (process.env.CLICKHOUSE_URL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Debian's ClickHouse server (18.16) on 127.0.0.1 and free ports, in a
 * temporary folder (Debian's config.xml with ports, listen host and paths
 * overridden on the command line, below); or the first server in
 * CLICKHOUSE_URL (comma-separated URLs allowed) when set. Installs Debian's
 * `clickhouse-server` when missing. The server is killed when the test
 * process exits.
 *
 * Outage tests: `kill()` stops it hard and keeps the folder, `restart()`
 * starts it again on the same HTTP port and data folder.
 *
 * @example
 * ```ts
 * const ch = await startClickHouse();
 * const res = await fetch(`${ch.url}/?query=SELECT%20version()`);
 * await ch.stop();
 * ```
 */
export async function startClickHouse({ ownServer = false }: ClickHouseOptions = {}): Promise<ClickHouseService> {
  const fromEnv = envUrls();
  if (fromEnv.length > 0 && !ownServer) return externalClickHouse(fromEnv[0]!);
  await ensureDebianPrograms([{ binary: SERVER, pkg: 'clickhouse-server' }], 'CLICKHOUSE_URL');
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-clickhouse-'));
  for (const sub of ['data', 'tmp', 'uf', 'fs']) mkdirSync(join(dir, sub));
  const httpPort = await freePort();
  const tcpPort = await freePort();
  const interserverPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const args = [
    `--config-file=${CONFIG}`,
    '--',
    `--http_port=${httpPort}`,
    `--tcp_port=${tcpPort}`,
    `--interserver_http_port=${interserverPort}`,
    // Loopback only (the packaged config would also try ::1).
    '--listen_host=127.0.0.1',
    `--path=${dir}/data/`,
    `--tmp_path=${dir}/tmp/`,
    `--user_files_path=${dir}/uf/`,
    `--format_schema_path=${dir}/fs/`,
    `--logger.log=${dir}/log`,
    `--logger.errorlog=${dir}/err.log`,
  ];

  let child: ChildProcess | undefined;
  let forget: (() => void) | undefined;
  let removed = false;

  const launch = async (): Promise<void> => {
    // stdout/stderr go to a file: the server prints its include warnings there, and a pipe nobody reads could fill.
    const out = openSync(join(dir, 'stdout'), 'a');
    const c = spawn(SERVER, args, { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out);
    child = c;
    forget = killOnExit(c);
    try {
      await waitFor(`clickhouse-server on port ${httpPort}`, async () => {
        if (!isRunning(c)) throw new Error(`clickhouse-server exited (${c.exitCode ?? c.signalCode}): ${tail(join(dir, 'err.log'))}`);
        return ping(url);
      }, 30_000);
    } catch (e) {
      await stopChild(c, 'SIGKILL');
      forget();
      throw e;
    }
  };

  const killHard = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined) return;
    await stopChild(c, 'SIGKILL');
    forget?.();
  };

  try {
    await launch();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    host: '127.0.0.1',
    port: httpPort,
    external: false,
    dir,
    kill: killHard,
    async restart() {
      if (removed) throw new Error('this ClickHouse server was stopped and its folder removed; start a new one');
      await killHard();
      await launch();
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c !== undefined) {
        await stopChild(c, 'SIGTERM', 5_000);
        forget?.();
      }
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `count` ClickHouse servers for sharding tests: the URLs of CLICKHOUSE_URL
 * when it lists at least `count` of them, otherwise servers this harness
 * starts (see startClickHouse).
 *
 * @example
 * ```ts
 * const shards = await startClickHouseShards(2);
 * console.log(shards.urls); // ['http://127.0.0.1:…', 'http://127.0.0.1:…']
 * await shards.stop();
 * ```
 */
export async function startClickHouseShards(count: number, { ownServer = false }: ClickHouseOptions = {}): Promise<ClickHouseShards> {
  const fromEnv = envUrls();
  let services: ClickHouseService[];
  if (!ownServer && fromEnv.length >= count) {
    services = fromEnv.slice(0, count).map(externalClickHouse);
  } else {
    const started = await Promise.allSettled(Array.from({ length: count }, () => startClickHouse({ ownServer: true })));
    services = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(services.map((s) => s.stop()));
      throw failed.reason;
    }
  }
  return {
    urls: services.map((s) => s.url),
    services,
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
    },
  };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '(no error log)';
  }
}
