import { BatchingSink } from '../batchingSink.js';
import type { SinkOptions, SinkTarget } from '../batchingSink.js';
import { validatorOf } from './internal/rowKinds.js';
import type { RedisRows, RedisSinkKind } from './internal/rowKinds.js';
import { RedisStore } from './redisStore.js';
import { RedisStoreOptionsSchema, resolveRedisOptions } from './redisStoreOptions.js';
import type { RedisStoreOptions } from './redisStoreOptions.js';

/** Options of `redis()`: the store's options, the sink's options, and the kind of rows. */
export type RedisSinkOptions<K extends RedisSinkKind> = RedisStoreOptions & SinkOptions & { readonly kind: K };

const STORE_KEYS = new Set(Object.keys(RedisStoreOptionsSchema.shape));

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
export function redis<K extends RedisSinkKind>(options: RedisSinkOptions<K>): BatchingSink<RedisRows[K]> {
  const { kind } = options;
  const validate = validatorOf(kind);
  const storeOptions: Record<string, unknown> = {};
  const sinkOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (k === 'kind') continue;
    if (STORE_KEYS.has(k)) storeOptions[k] = v;
    else sinkOptions[k] = v;
  }
  resolveRedisOptions(storeOptions);
  let store: Promise<RedisStore> | undefined;
  const target: SinkTarget<RedisRows[K]> = {
    name: `redis:${kind}`,
    validate,
    async writeRows(rows) {
      store ??= RedisStore.connect(storeOptions as RedisStoreOptions);
      let s: RedisStore;
      try {
        s = await store;
      } catch (e) {
        store = undefined; // connect again on the sink's next attempt
        throw e;
      }
      await s.putRows(kind, rows);
    },
    async close() {
      const s = store;
      store = undefined;
      if (s !== undefined) await (await s.catch(() => undefined))?.close();
    },
  };
  return new BatchingSink<RedisRows[K]>(target, sinkOptions as SinkOptions);
}
