import type { Redis } from 'ioredis';
import { ReadBreaker } from './readBreaker.js';
import type { RedisTarget } from './serverConfig.js';
import { redisConnection } from './serverConfig.js';
import { TtlCache } from './ttlCache.js';

/** Where a cached response came from. */
export type CacheHit = { readonly value: unknown; readonly where: 'memory' | 'redis' };

/**
 * The cache of settled REST results (aggregates): 1-minute TTL. In process
 * always; with REDIS_URL also in Redis, shared by every server node, behind a
 * circuit breaker (Redis down: the in-process cache alone answers, requests
 * never wait on a dead Redis).
 */
export class ResponseCache {
  private readonly local: TtlCache<unknown>;

  private constructor(
    private readonly ttlMs: number,
    private readonly redis: { client: Redis; breaker: ReadBreaker } | undefined,
    private readonly prefix: string,
  ) {
    this.local = new TtlCache(ttlMs);
  }

  /** An in-process cache, shared through Redis when `redis` is given (connects lazily; never throws for an unreachable Redis). */
  static async open(ttlMs: number, redis?: RedisTarget, prefix = 'tickflow:cache:'): Promise<ResponseCache> {
    if (redis === undefined) return new ResponseCache(ttlMs, undefined, prefix);
    const { Redis: RedisClient } = await import('ioredis');
    const common = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: (n: number) => Math.min(n * 100, 1_000) };
    const conn = redisConnection(redis);
    const client = 'url' in conn ? new RedisClient(conn.url, common) : new RedisClient({ ...common, ...conn });
    client.on('error', () => {}); // failures surface as rejected commands (breaker)
    client.connect().catch(() => undefined);
    return new ResponseCache(ttlMs, { client, breaker: new ReadBreaker('redis cache', undefined, { timeout: 500 }) }, prefix);
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const held = this.local.get(key);
    if (held !== undefined) return { value: held, where: 'memory' };
    const r = this.redis;
    if (r === undefined) return undefined;
    try {
      const text = await r.breaker.fire(() => r.client.get(this.prefix + key));
      if (text === null) return undefined;
      const value: unknown = JSON.parse(text);
      this.local.set(key, value);
      return { value, where: 'redis' };
    } catch {
      return undefined; // Redis down or breaker open: a miss
    }
  }

  set(key: string, value: unknown): void {
    this.local.set(key, value);
    const r = this.redis;
    if (r === undefined) return;
    r.breaker.fire(() => r.client.set(this.prefix + key, JSON.stringify(value), 'PX', this.ttlMs)).catch(() => undefined);
  }

  async close(): Promise<void> {
    const r = this.redis;
    if (r === undefined) return;
    r.breaker.shutdown();
    await r.client.quit().catch(() => r.client.disconnect());
  }
}
