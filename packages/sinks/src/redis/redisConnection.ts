import type { Redis, RedisOptions as IORedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from './redisStoreOptions.js';

/** What the store found when it connected (also logged). */
export interface RedisServerInfo {
  readonly mode: 'single' | 'sentinel';
  /** `host:port` of the node written to. */
  readonly address: string;
  /** Redis server version, e.g. `7.0.15`. */
  readonly version: string;
  /** Replicas connected to the master at connect time. */
  readonly replicas: number;
  /** Replica acknowledgements each batch waits for (capped at the connected replicas). */
  readonly replicaAcks: number;
}

function backoff(times: number, maxMs: number): number {
  return Math.min(25 * 2 ** Math.min(times, 10), maxMs);
}

/** The ioredis options of a store: no offline queue, fail fast, reconnect with capped backoff; a single node or a sentinel master. */
export function driverOptions(o: ResolvedRedisOptions): IORedisOptions {
  const common: IORedisOptions = {
    lazyConnect: true,
    // Fail commands at once while disconnected instead of queueing them
    // without bound in the driver: the sink retries, and its bounded buffer
    // pauses the pipeline.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: (times: number) => backoff(times, o.maxReconnectDelayMs),
    // A write that reaches a replica (a failover in progress) reconnects to the current master.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    connectionName: 'tickflow',
  };
  if (o.mode === 'single') {
    const u = new URL(o.url!);
    return {
      ...common,
      host: u.hostname,
      port: u.port === '' ? 6379 : Number(u.port),
      username: u.username === '' ? undefined : decodeURIComponent(u.username),
      password: u.password === '' ? undefined : decodeURIComponent(u.password),
      db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
      tls: u.protocol === 'rediss:' ? {} : undefined,
    };
  }
  return {
    ...common,
    sentinels: o.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: o.name,
    role: 'master',
    password: o.password,
    sentinelPassword: o.sentinelPassword,
    db: o.db,
    // Not ioredis's failoverDetector: a +switch-master message that arrives
    // while the client is reconnecting ends the client for good (ioredis
    // 5.x). Reconnecting asks the sentinels for the master anyway, and a
    // demoted master answers writes with READONLY, which reconnects.
    failoverDetector: false,
    sentinelRetryStrategy: (times: number) => backoff(times, o.maxReconnectDelayMs),
  };
}

/** Where the store writes, without credentials, for messages. */
export function where(o: ResolvedRedisOptions): string {
  if (o.mode === 'single') {
    const u = new URL(o.url!);
    return `redis://${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
  }
  return `master "${o.name}" via sentinels ${o.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
}

/** Checks the server (Redis ≥ 5, a master) and what it has: version, address, connected replicas. */
export async function inspectServer(client: Redis, o: ResolvedRedisOptions): Promise<RedisServerInfo> {
  const info = await client.info('server');
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
  const major = Number(version.split('.')[0]);
  if (major < 5) throw new Error(`Redis ${version} is too old: the store needs Redis 5 or newer`);
  const role = await client.role();
  if (role[0] !== 'master') throw new Error(`the server is a ${String(role[0])}, not a master: point the store at the master (or use sentinels)`);
  const replicas = replicaCount(role);
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return {
    mode: o.mode,
    address: stream?.remoteAddress !== undefined ? `${stream.remoteAddress}:${stream.remotePort ?? ''}` : where(o),
    version,
    replicas,
    replicaAcks: Math.min(o.replicaAcks, replicas),
  };
}

/** Replicas connected to a master, from the reply of ROLE (0 for anything else). */
export function replicaCount(role: unknown): number {
  return Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
}
