import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { ReadBreaker } from './readBreaker.js';
import type { RedisTarget } from './serverConfig.js';
import { redisConnection } from './serverConfig.js';
import { TtlCache } from './ttlCache.js';

/** A cached response body (its JSON as UTF-8 bytes) and where it came from. */
export type CacheHit = { readonly body: Buffer; readonly where: 'memory' | 'redis' };

/**
 * The cache of settled REST results (aggregates): 1-minute TTL. In process
 * always; with REDIS_URL also in Redis, shared by every server node, behind a
 * circuit breaker (Redis down: the in-process cache alone answers, requests
 * never wait on a dead Redis).
 *
 * It holds the encoded body, serialized once when stored: a hit is written
 * as is (sendCached), where keeping the object serialized it again on every
 * hit — a day of 1m candles is hundreds of KB of JSON, and at a few hundred
 * hits a second that was most of the main thread.
 */
export class ResponseCache {
  private readonly local: TtlCache<Buffer>;

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
    if (held !== undefined) return { body: held, where: 'memory' };
    const r = this.redis;
    if (r === undefined) return undefined;
    try {
      const body = await r.breaker.fire(() => r.client.getBuffer(this.prefix + key));
      if (body === null) return undefined;
      this.local.set(key, body);
      return { body, where: 'redis' };
    } catch {
      return undefined; // Redis down or breaker open: a miss
    }
  }

  /** Stores `value` (serialized to JSON here, once) and returns the encoded body, for the miss to send as well. */
  set(key: string, value: unknown): Buffer {
    const body = Buffer.from(JSON.stringify(value));
    this.local.set(key, body);
    const r = this.redis;
    if (r !== undefined) r.breaker.fire(() => r.client.set(this.prefix + key, body, 'PX', this.ttlMs)).catch(() => undefined);
    return body;
  }

  async close(): Promise<void> {
    const r = this.redis;
    if (r === undefined) return;
    r.breaker.shutdown();
    await r.client.quit().catch(() => r.client.disconnect());
  }
}

/** Sends an encoded JSON body as it is (no serialization): a cache hit, or the body a miss just stored. */
export function sendCached(reply: FastifyReply, body: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}
