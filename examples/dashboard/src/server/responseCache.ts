import CircuitBreaker from 'opossum';
import type { Redis } from 'ioredis';
import type { RedisTarget } from './serverConfig.js';
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
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown> | undefined;
  /** Redis reads and writes that failed or were refused by the open breaker. */
  redisErrors = 0;

  private constructor(
    private readonly ttlMs: number,
    private readonly redis: Redis | undefined,
    private readonly prefix: string,
  ) {
    this.local = new TtlCache(ttlMs);
    this.breaker = redis === undefined ? undefined : new CircuitBreaker((f: () => Promise<unknown>) => f(), { timeout: 500, resetTimeout: 1_000, volumeThreshold: 2, errorThresholdPercentage: 50 });
  }

  /** An in-process cache, shared through Redis when `redis` is given (connects lazily; never throws for an unreachable Redis). */
  static async open(ttlMs: number, redis?: RedisTarget, prefix = 'tickflow:cache:'): Promise<ResponseCache> {
    if (redis === undefined) return new ResponseCache(ttlMs, undefined, prefix);
    const { Redis: RedisClient } = await import('ioredis');
    const common = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: (n: number) => Math.min(n * 100, 1_000) };
    const client = redis.mode === 'single' ? new RedisClient(redis.url, common) : new RedisClient({ ...common, sentinels: redis.sentinels, name: redis.name, password: redis.password, db: redis.db });
    client.on('error', () => {}); // failures surface as rejected commands (breaker)
    client.connect().catch(() => undefined);
    return new ResponseCache(ttlMs, client, prefix);
  }

  /** Breaker state of the shared part ('none' without Redis). */
  get redisState(): 'none' | 'closed' | 'open' | 'halfOpen' {
    const b = this.breaker;
    return b === undefined ? 'none' : b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed';
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const held = this.local.get(key);
    if (held !== undefined) return { value: held, where: 'memory' };
    const redis = this.redis;
    if (redis === undefined || this.breaker === undefined) return undefined;
    try {
      const text = (await this.breaker.fire(() => redis.get(this.prefix + key))) as string | null;
      if (text === null) return undefined;
      const value: unknown = JSON.parse(text);
      this.local.set(key, value);
      return { value, where: 'redis' };
    } catch {
      this.redisErrors++;
      return undefined;
    }
  }

  set(key: string, value: unknown): void {
    this.local.set(key, value);
    const redis = this.redis;
    if (redis === undefined || this.breaker === undefined) return;
    this.breaker.fire(() => redis.set(this.prefix + key, JSON.stringify(value), 'PX', this.ttlMs)).catch(() => {
      this.redisErrors++;
    });
  }

  async close(): Promise<void> {
    this.breaker?.shutdown();
    if (this.redis !== undefined) await this.redis.quit().catch(() => this.redis!.disconnect());
  }
}
