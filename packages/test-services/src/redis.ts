import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPrograms } from './debianPackages.js';
import { freePort, waitFor } from './freePort.js';
import type { RunningService } from './runningService.js';
import { externalService, isRunning, killOnExit, stopChild } from './runningService.js';

/** Debian's redis-server binary (also the Sentinel: `redis-server conf --sentinel`). */
export const REDIS_SERVER = '/usr/bin/redis-server';

/** Sends one inline command to a Redis server and returns the first reply line. */
export function redisCommand(port: number, command: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
    socket.on('data', (d) => {
      data += d.toString();
      const nl = data.indexOf('\r\n');
      if (nl >= 0) {
        socket.end();
        resolve(data.slice(0, nl));
      }
    });
    socket.write(`${command}\r\n`);
  });
}

/** A parsed RESP reply: simple strings and bulk strings as strings, integers as numbers, arrays as arrays, nil as null. */
export type RespValue = string | number | null | RespValue[];

/** Parses one RESP value at `pos`; returns undefined when the buffer does not hold all of it yet. */
function parseResp(buf: string, pos: number): { value: RespValue; end: number } | undefined {
  const nl = buf.indexOf('\r\n', pos);
  if (nl < 0) return undefined;
  const type = buf.charAt(pos);
  const head = buf.slice(pos + 1, nl);
  switch (type) {
    case '+':
      return { value: head, end: nl + 2 };
    case '-':
      throw new Error(`redis replied with an error: ${head}`);
    case ':':
      return { value: Number(head), end: nl + 2 };
    case '$': {
      const n = Number(head);
      if (n < 0) return { value: null, end: nl + 2 };
      // Byte length: fine for the ASCII replies the harness reads (INFO, SENTINEL, ROLE).
      if (buf.length < nl + 2 + n + 2) return undefined;
      return { value: buf.slice(nl + 2, nl + 2 + n), end: nl + 2 + n + 2 };
    }
    case '*': {
      const n = Number(head);
      if (n < 0) return { value: null, end: nl + 2 };
      const items: RespValue[] = [];
      let p = nl + 2;
      for (let i = 0; i < n; i++) {
        const item = parseResp(buf, p);
        if (item === undefined) return undefined;
        items.push(item.value);
        p = item.end;
      }
      return { value: items, end: p };
    }
    default:
      throw new Error(`unexpected RESP reply ${JSON.stringify(buf.slice(pos, pos + 40))}`);
  }
}

/**
 * Sends one command (arguments as given, no quoting needed) to a Redis server
 * or Sentinel and returns the whole parsed reply. For the harness's own
 * checks (INFO, ROLE, SENTINEL …); tests use a real client.
 */
export function redisQuery(port: number, args: readonly string[], host = '127.0.0.1'): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error(`timeout waiting for ${args[0] ?? ''} on port ${port}`)));
    socket.once('error', reject);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      try {
        const r = parseResp(data, 0);
        if (r === undefined) return;
        socket.end();
        resolve(r.value);
      } catch (e) {
        socket.destroy();
        reject(e);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Options of startRedis. */
export interface RedisOptions {
  /** Extra `redis-server` arguments (e.g. `['--replicaof', '127.0.0.1', '6379']`). */
  readonly args?: readonly string[];
  /** Ignore REDIS_URL and always start a server (tests that stop and restart it). Default false. */
  readonly ownServer?: boolean;
}

/** Starts one redis-server child on `port` in `dir` and waits until it answers PING. */
async function spawnRedis(port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore' });
  const forget = killOnExit(child);
  child.once('exit', () => forget());
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (!isRunning(child)) throw new Error(`redis-server exited with ${child.exitCode ?? child.signalCode}`);
      return (await redisCommand(port, 'PING')) === '+PONG';
    }, 15_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return child;
}

const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no'];

/** A Redis server child with its port and folder, for the harness's own services. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
  /** Kills the server (SIGKILL by default: a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** True while the server process runs. */
  readonly running: boolean;
}

/** @internal Starts a Redis node owned by the caller (sentinel setups). */
export async function startRedisNode(dir: string, args: readonly string[] = []): Promise<RedisNode & { stop(): Promise<void> }> {
  const port = await freePort();
  const child = await spawnRedis(port, dir, [...NO_PERSISTENCE, ...args]);
  return {
    host: '127.0.0.1',
    port,
    get running() {
      return isRunning(child);
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => stopChild(child, signal),
    stop: () => stopChild(child),
  };
}

/** Installs redis-server when missing and starts it on a free port in a new temporary folder (removed again if the start fails). */
async function startInTempDir(serverArgs: readonly string[]): Promise<{ dir: string; port: number; child: ChildProcess }> {
  await ensureDebianPrograms([{ binary: REDIS_SERVER, pkg: 'redis-server' }], 'REDIS_URL');
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-redis-'));
  const port = await freePort();
  try {
    return { dir, port, child: await spawnRedis(port, dir, serverArgs) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A Redis 7 server on 127.0.0.1 and a free port, in a temporary folder, with
 * no persistence; or the server at REDIS_URL when set. Installs Debian's
 * redis-server when missing.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * try { await useRedis(redis.url); } finally { await redis.stop(); }
 * ```
 */
export async function startRedis({ args = [], ownServer = false }: RedisOptions = {}): Promise<RunningService> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv && !ownServer) return externalService(fromEnv);
  const { dir, port, child } = await startInTempDir([...NO_PERSISTENCE, ...args]);
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    external: false,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis server that can be crashed and started again on the same port with its data (outage tests). */
export interface RestartableRedis extends RunningService {
  /** True while the server process runs. */
  readonly running: boolean;
  /** Kills the server (SIGKILL by default: a crash); its port stays reserved for `restart`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and folder (with the data it had fsynced) and waits until it answers. */
  restart(): Promise<void>;
}

/**
 * A Redis 7 server that tests may kill and restart on the same port: always
 * started by the harness (REDIS_URL is ignored), with an append-only file
 * fsynced on every write (`appendfsync always`), so every write it
 * acknowledged survives a SIGKILL.
 *
 * @example
 * ```ts
 * const redis = await startRestartableRedis();
 * await redis.kill();     // the store is down: clients see connection errors
 * await redis.restart();  // same port, same data
 * await redis.stop();
 * ```
 */
export async function startRestartableRedis({ args = [] }: Pick<RedisOptions, 'args'> = {}): Promise<RestartableRedis> {
  const serverArgs = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', ...args];
  const started = await startInTempDir(serverArgs);
  const { dir, port } = started;
  let child = started.child;
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    external: false,
    get running() {
      return isRunning(child);
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => stopChild(child, signal),
    async restart() {
      if (isRunning(child)) throw new Error(`redis-server on port ${port} is still running; kill() it first`);
      child = await spawnRedis(port, dir, serverArgs);
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
