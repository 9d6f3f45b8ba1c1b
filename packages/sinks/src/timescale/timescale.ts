import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkOptions } from '../batchingSink.js';
import { TimescaleStore, TimescaleTarget, parseTimescaleStoreOptions } from './timescaleStore.js';
import type { TimescaleRowOfKind, TimescaleSinkKind, TimescaleStoreOptions } from './timescaleStore.js';

/** Options of `timescale()`: the store's, the sink's, and which rows it takes. */
export type TimescaleSinkOptions<K extends TimescaleSinkKind> = TimescaleStoreOptions & SinkOptions & { readonly kind: K };

const SINK_KEYS: readonly string[] = ['maxBatchSize', 'maxBatchAge', 'maxBufferedRows', 'retry', 'breaker', 'deadLetter', 'warn'];

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
  const { kind, ...rest } = options;
  const sinkOptions: Record<string, unknown> = {};
  const storeOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (SINK_KEYS.includes(k)) sinkOptions[k] = v;
    else storeOptions[k] = v;
  }
  // Fail now, not at the first write, on bad options.
  parseTimescaleStoreOptions(storeOptions as TimescaleStoreOptions);
  let connecting: Promise<TimescaleStore> | undefined;
  const store = (): Promise<TimescaleStore> => {
    if (connecting === undefined) {
      const attempt = TimescaleStore.connect(storeOptions as TimescaleStoreOptions);
      connecting = attempt;
      // A failed connect is forgotten, so the sink's retry connects again.
      attempt.catch(() => {
        if (connecting === attempt) connecting = undefined;
      });
    }
    return connecting;
  };
  const closeStore = async (): Promise<void> => {
    const pending = connecting;
    connecting = undefined;
    if (pending === undefined) return;
    try {
      await (await pending).close();
    } catch {
      // Never connected: nothing to close.
    }
  };
  return new BatchingSink(new TimescaleTarget<K>(kind, store, closeStore), sinkOptions as SinkOptions);
}
