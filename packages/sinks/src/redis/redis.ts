import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import { LazyStore, splitSinkOptions } from '../lazyStore.js';
import { validatorOf } from './internal/rowKinds.js';
import type { RedisRows, RedisSinkKind } from './internal/rowKinds.js';
import { RedisStore } from './redisStore.js';
import { resolveRedisOptions } from './redisStoreOptions.js';
import type { RedisStoreOptions } from './redisStoreOptions.js';

/** Options of `redis()`: the store's options, the sink's options, and the kind of rows. */
export type RedisSinkOptions<K extends RedisSinkKind> = RedisStoreOptions & SinkOptions & { readonly kind: K };

/**
 * A sink that owns its Redis store: it connects on the first write (a Redis
 * that is down at start is retried like any failed write, so the pipeline
 * waits rather than fails) and closes the connection when the sink closes.
 * Options are validated at once. For several sinks on one connection, use
 * `RedisStore.connect` and `store.sink(kind)`.
 *
 * @example
 * ```ts
 * await pipeline(syntheticTrades({ count: 100_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()))
 *   .to(redis({ url: 'redis://127.0.0.1:6379', kind: 'candles' }))
 *   .run();
 * ```
 */
export function redis(options: RedisSinkOptions<'trades'>): Sink<Trade>;
export function redis(options: RedisSinkOptions<'quotes'>): Sink<Quote>;
export function redis(options: RedisSinkOptions<'candles'>): Sink<Candle>;
export function redis(options: RedisSinkOptions<'volumeProfiles'>): Sink<VolumeProfile>;
export function redis(options: RedisSinkOptions<'tickCounts'>): Sink<TickCount>;
export function redis<K extends RedisSinkKind>(options: RedisSinkOptions<K>): Sink<RedisRows[K]>;
export function redis<K extends RedisSinkKind>(options: RedisSinkOptions<K>): Sink<RedisRows[K]> {
  const { kind } = options;
  const { sink, store } = splitSinkOptions(options);
  resolveRedisOptions(store);
  const lazy = new LazyStore(() => RedisStore.connect(store as RedisStoreOptions));
  const target: SinkTarget<RedisRows[K]> = {
    name: `redis:${kind}`,
    validate: validatorOf(kind),
    async writeRows(rows) {
      await (await lazy.get()).putRows(kind, rows);
    },
    close: lazy.close,
  };
  return new BatchingSink<RedisRows[K]>(target, sink);
}
