import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPrograms } from './debianPackages.js';
import { freePort, waitFor } from './freePort.js';
import type { RedisNode } from './redis.js';
import { REDIS_SERVER, redisQuery, startRedisNode } from './redis.js';
import { killOnExit, stopChild } from './runningService.js';

/** Options of startRedisSentinel. */
export interface RedisSentinelOptions {
  /** Name the sentinels monitor the master under. Default `'tickflow'`. */
  readonly masterName?: string;
  /** Replicas of the master (`--replicaof`). Default 1. */
  readonly replicas?: number;
  /** Sentinel processes (quorum 1 whatever the count). Default 1. */
  readonly sentinels?: number;
  /** `down-after-milliseconds`: how long the master may be silent before it counts as down. Default 1000. */
  readonly downAfterMs?: number;
  /** `failover-timeout`. Default 3000. */
  readonly failoverTimeoutMs?: number;
}

/** Host and port of a Redis server or Sentinel. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** A master, its replicas and the sentinels watching them, all on 127.0.0.1. */
export interface RunningRedisSentinel {
  /** Sentinel addresses, for a client's `sentinels` option. */
  readonly sentinels: readonly RedisAddress[];
  /** The name the sentinels know the master by. */
  readonly masterName: string;
  /** Every data node (the first one started as the master). */
  readonly nodes: readonly RedisNode[];
  /** The master's address as the first sentinel reports it now. */
  masterAddress(): Promise<RedisAddress>;
  /** Kills the node that is the master now (SIGKILL by default) and returns its address. */
  killMaster(signal?: NodeJS.Signals): Promise<RedisAddress>;
  /** Waits until the sentinels report a master other than `old` and that node answers as a master; returns it. */
  waitForFailover(old: RedisAddress, timeoutMs?: number): Promise<RedisAddress>;
  /** Stops every process and removes the temporary folder. */
  stop(): Promise<void>;
}

function field(list: unknown, name: string): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (let i = 0; i + 1 < list.length; i += 2) if (list[i] === name) return String(list[i + 1]);
  return undefined;
}

async function role(node: RedisAddress): Promise<string | undefined> {
  const r = await redisQuery(node.port, ['ROLE'], node.host);
  return Array.isArray(r) && typeof r[0] === 'string' ? r[0] : undefined;
}

/**
 * Redis Sentinel for failover tests: a master, `replicas` replicas
 * (`--replicaof`) and `sentinels` sentinels (`redis-server conf --sentinel`,
 * quorum 1, `down-after-milliseconds` 1 s and `failover-timeout` 3 s by
 * default, so a killed master is replaced within a few seconds), all on
 * 127.0.0.1 on free ports in one temporary folder, no persistence. Always
 * started by the harness: a failover test kills servers, so it never uses a
 * developer's own. Every process is stopped and the folder removed on `stop()`
 * and when the test process exits.
 *
 * @example
 * ```ts
 * const rs = await startRedisSentinel();
 * const client = new Redis({ sentinels: rs.sentinels, name: rs.masterName });
 * const old = await rs.killMaster();
 * const promoted = await rs.waitForFailover(old);
 * await rs.stop();
 * ```
 */
export async function startRedisSentinel({
  masterName = 'tickflow',
  replicas = 1,
  sentinels = 1,
  downAfterMs = 1_000,
  failoverTimeoutMs = 3_000,
}: RedisSentinelOptions = {}): Promise<RunningRedisSentinel> {
  if (!/^[A-Za-z0-9._-]+$/.test(masterName)) throw new Error(`masterName must be letters, digits, ".", "_" or "-", got ${JSON.stringify(masterName)}`);
  if (!(replicas >= 0 && sentinels >= 1)) throw new Error(`need replicas ≥ 0 and sentinels ≥ 1, got ${replicas} and ${sentinels}`);
  await ensureDebianPrograms([{ binary: REDIS_SERVER, pkg: 'redis-server' }], 'REDIS_URL');
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-sentinel-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const nodes: (RedisNode & { stop(): Promise<void> })[] = [];
  const sentinelChildren: ChildProcess[] = [];
  const addresses: RedisAddress[] = [];

  const stop = async (): Promise<void> => {
    await Promise.all(sentinelChildren.map((c) => stopChild(c)));
    await Promise.all(nodes.map((n) => n.stop()));
    removeDir();
    process.off('exit', removeDir);
  };

  try {
    const nodeDir = (i: number): string => {
      const d = join(dir, `node${i}`);
      mkdirSync(d);
      return d;
    };
    // No 5 s diskless-sync delay (the Redis 7 default) before a replica gets its first copy.
    const fast = ['--repl-diskless-sync-delay', '0'];
    const master = await startRedisNode(nodeDir(0), fast);
    nodes.push(master);
    for (let i = 1; i <= replicas; i++) {
      nodes.push(await startRedisNode(nodeDir(i), [...fast, '--replicaof', master.host, String(master.port)]));
    }
    for (const r of nodes.slice(1)) {
      await waitFor(`replica on port ${r.port} to sync with the master`, async () => {
        const info = await redisQuery(r.port, ['INFO', 'replication']);
        return typeof info === 'string' && info.includes('master_link_status:up');
      }, 15_000);
    }

    for (let i = 0; i < sentinels; i++) {
      const port = await freePort();
      const sdir = join(dir, `sentinel${i}`);
      mkdirSync(sdir);
      const conf = join(sdir, 'sentinel.conf');
      // The sentinel rewrites its config file (discovered replicas, epochs): it must be writable.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${sdir}`,
          `sentinel monitor ${masterName} ${master.host} ${master.port} 1`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: 'ignore' });
      const forget = killOnExit(child);
      child.once('exit', () => forget());
      sentinelChildren.push(child);
      addresses.push({ host: '127.0.0.1', port });
    }
    // Ready when every sentinel knows the master and all its replicas (failover needs a known replica).
    for (const s of addresses) {
      await waitFor(`redis sentinel on port ${s.port} to see the master and ${replicas} replica(s)`, async () => {
        const m = await redisQuery(s.port, ['SENTINEL', 'MASTER', masterName]);
        return Number(field(m, 'num-slaves')) >= replicas && field(m, 'flags') === 'master';
      }, 20_000);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const masterAddress = async (): Promise<RedisAddress> => {
    const r = await redisQuery(addresses[0]!.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName]);
    if (!Array.isArray(r) || r.length !== 2) throw new Error(`sentinel does not know master ${masterName}`);
    return { host: String(r[0]), port: Number(r[1]) };
  };

  return {
    sentinels: addresses,
    masterName,
    nodes,
    masterAddress,
    async killMaster(signal: NodeJS.Signals = 'SIGKILL') {
      const m = await masterAddress();
      const node = nodes.find((n) => n.port === m.port);
      if (node === undefined) throw new Error(`the master ${m.host}:${m.port} is not one of this setup's nodes`);
      await node.kill(signal);
      return m;
    },
    async waitForFailover(old: RedisAddress, timeoutMs = 20_000) {
      let found: RedisAddress | undefined;
      await waitFor(`sentinel failover away from ${old.host}:${old.port}`, async () => {
        const m = await masterAddress();
        if (m.port === old.port && m.host === old.host) return false;
        if ((await role(m)) !== 'master') return false;
        found = m;
        return true;
      }, timeoutMs);
      return found!;
    },
    stop,
  };
}
