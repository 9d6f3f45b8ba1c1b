// @tickflow/sinks/redis: Redis as the hot store (latest prices, bounded
// history, latest candles, quote counts) and pub/sub fan-out, over ioredis,
// on a single node or through Sentinel.
export { RedisStore } from './redisStore.js';
export type { RedisServerInfo } from './redisConnection.js';
export type { RedisQuoteState } from './redisReads.js';
export type { RedisRows, RedisSinkKind } from './internal/rowKinds.js';
export { redis } from './redis.js';
export type { RedisSinkOptions } from './redis.js';
export { RedisStoreOptionsSchema } from './redisStoreOptions.js';
export type { RedisStoreOptions } from './redisStoreOptions.js';
export type { RedisUpdate } from './redisUpdate.js';
