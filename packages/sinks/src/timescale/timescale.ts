import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import { LazyStore, splitSinkOptions } from '../lazyStore.js';
import type { TimescaleRowOfKind, TimescaleSinkKind } from './timescaleRows.js';
import { TimescaleStore } from './timescaleStore.js';
import { parseTimescaleStoreOptions } from './timescaleStoreOptions.js';
import type { TimescaleStoreOptions } from './timescaleStoreOptions.js';
import { TimescaleTarget } from './timescaleTarget.js';

/** Options of `timescale()`: the store's, the sink's, and which rows it takes. */
export type TimescaleSinkOptions<K extends TimescaleSinkKind> = TimescaleStoreOptions & SinkOptions & { readonly kind: K };

/**
 * A Timescale/PostgreSQL sink that owns its store: it connects on its first
 * write (a failed connect is retried like a failed write, so a pipeline can
 * start before the database is up) and closes the store when the sink
 * closes. Options are validated at once (`INVALID_ARGUMENT`).
 *
 * @example
 * ```ts
 * await pipeline(syntheticTrades({ count: 1_000_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()))
 *   .to(timescale({ url: 'postgres://postgres@127.0.0.1:5432/postgres', kind: 'candles' }))
 *   .run();
 * ```
 */
export function timescale(options: TimescaleSinkOptions<'trades'>): Sink<Trade>;
export function timescale(options: TimescaleSinkOptions<'candles'>): Sink<Candle>;
export function timescale(options: TimescaleSinkOptions<'volumeProfiles'>): Sink<VolumeProfile>;
export function timescale(options: TimescaleSinkOptions<'tickCounts'>): Sink<TickCount>;
export function timescale<K extends TimescaleSinkKind>(options: TimescaleSinkOptions<K>): Sink<TimescaleRowOfKind[K]>;
export function timescale<K extends TimescaleSinkKind>(options: TimescaleSinkOptions<K>): Sink<TimescaleRowOfKind[K]> {
  const { sink, store } = splitSinkOptions(options);
  // Fail now, not at the first write, on bad options.
  parseTimescaleStoreOptions(store as TimescaleStoreOptions);
  const lazy = new LazyStore(() => TimescaleStore.connect(store as TimescaleStoreOptions));
  return new BatchingSink(new TimescaleTarget<K>(options.kind, lazy.get, lazy.close), sink);
}
