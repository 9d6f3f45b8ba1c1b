import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkOptions } from '../batchingSink.js';
import { CLICKHOUSE_SINK_DEFAULTS, ClickHouseStore, ClickHouseTarget, parseClickHouseStoreOptions } from './clickHouseStore.js';
import type { ClickHouseRowOfKind, ClickHouseSinkKind, ClickHouseStoreOptions } from './clickHouseStore.js';

/** Options of `clickhouse()`: the store's, the sink's, and which rows it takes. */
export type ClickHouseSinkOptions<K extends ClickHouseSinkKind> = ClickHouseStoreOptions & SinkOptions & { readonly kind: K };

const SINK_KEYS = ['maxBatchSize', 'maxBatchAge', 'maxBufferedRows', 'retry', 'breaker', 'deadLetter', 'warn'] as const;

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
  const { kind, ...rest } = options;
  const sinkOptions: Record<string, unknown> = { ...CLICKHOUSE_SINK_DEFAULTS };
  const storeOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if ((SINK_KEYS as readonly string[]).includes(k)) sinkOptions[k] = v;
    else storeOptions[k] = v;
  }
  const parsed = parseClickHouseStoreOptions(storeOptions as ClickHouseStoreOptions);
  let connecting: Promise<ClickHouseStore> | undefined;
  const store = (): Promise<ClickHouseStore> => {
    if (connecting === undefined) {
      connecting = ClickHouseStore.connect(storeOptions as ClickHouseStoreOptions);
      // A failed connect is forgotten, so the sink's retry connects again.
      connecting.catch(() => {
        connecting = undefined;
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
  return new BatchingSink(new ClickHouseTarget<K>(kind, parsed, store, true, closeStore), sinkOptions as SinkOptions);
}
