import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPrograms } from './debianPackages.js';
import { freePort, waitFor } from './freePort.js';
import type { RunningService } from './runningService.js';
import { exited, externalService, killOnExit } from './runningService.js';

const REDIS = '/usr/bin/redis-server';

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

/** Options of startRedis. */
export interface RedisOptions {
  /** Extra `redis-server` arguments (e.g. `['--replicaof', '127.0.0.1', '6379']`). */
  readonly args?: readonly string[];
  /** Ignore REDIS_URL and always start a server (tests that stop and restart it). Default false. */
  readonly ownServer?: boolean;
}

/**
 * A Redis 7 server on 127.0.0.1 and a free port, in a temporary folder, with
 * no persistence; or the server at REDIS_URL when set. Installs Debian's
 * redis-server when missing.
 */
export async function startRedis({ args = [], ownServer = false }: RedisOptions = {}): Promise<RunningService> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv && !ownServer) return externalService(fromEnv);
  await ensureDebianPrograms([{ binary: REDIS, pkg: 'redis-server' }], 'REDIS_URL');
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-redis-'));
  const port = await freePort();
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], { stdio: 'ignore' });
  const forget = killOnExit(child);
  try {
    await waitFor(`redis-server on port ${port}`, async () => (await redisCommand(port, 'PING')) === '+PONG', 15_000);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    external: false,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      forget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
