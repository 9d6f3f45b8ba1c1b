import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import { LazyStore, splitSinkOptions } from '../lazyStore.js';
import type { ClickHouseRowOfKind, ClickHouseSinkKind } from './clickHouseRowKinds.js';
import { ClickHouseStore } from './clickHouseStore.js';
import { CLICKHOUSE_SINK_DEFAULTS, parseClickHouseStoreOptions } from './clickHouseStoreOptions.js';
import type { ClickHouseStoreOptions } from './clickHouseStoreOptions.js';
import { ClickHouseTarget } from './clickHouseTarget.js';

/** Options of `clickhouse()`: the store's, the sink's, and which rows it takes. */
export type ClickHouseSinkOptions<K extends ClickHouseSinkKind> = ClickHouseStoreOptions & SinkOptions & { readonly kind: K };

/**
 * A ClickHouse sink that owns its store: it connects on its first write
 * (a failed connect is retried like a failed write, so a pipeline can start
 * before the server is up) and closes the store when the sink closes.
 * Options are validated at once (`INVALID_ARGUMENT`).
 *
 * @example
 * ```ts
 * await pipeline(syntheticTrades({ count: 1_000_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()))
 *   .to(clickhouse({ url: 'http://127.0.0.1:8123', kind: 'candles', maxBatchSize: 10_000 }))
 *   .run();
 * ```
 */
export function clickhouse(options: ClickHouseSinkOptions<'trades'>): Sink<Trade>;
export function clickhouse(options: ClickHouseSinkOptions<'candles'>): Sink<Candle>;
export function clickhouse(options: ClickHouseSinkOptions<'volumeProfiles'>): Sink<VolumeProfile>;
export function clickhouse(options: ClickHouseSinkOptions<'tickCounts'>): Sink<TickCount>;
export function clickhouse<K extends ClickHouseSinkKind>(options: ClickHouseSinkOptions<K>): Sink<ClickHouseRowOfKind[K]>;
export function clickhouse<K extends ClickHouseSinkKind>(options: ClickHouseSinkOptions<K>): Sink<ClickHouseRowOfKind[K]> {
  const { sink, store } = splitSinkOptions(options);
  const parsed = parseClickHouseStoreOptions(store as ClickHouseStoreOptions);
  const lazy = new LazyStore(() => ClickHouseStore.connect(store as ClickHouseStoreOptions));
  return new BatchingSink(new ClickHouseTarget<K>(options.kind, parsed, lazy.get, true, lazy.close), { ...CLICKHOUSE_SINK_DEFAULTS, ...sink });
}
