import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { Sink } from './sink.js';
import type { SinkOptions } from './sinkOptions.js';

/** A time range of one symbol: `from` inclusive, `to` exclusive, UTC epoch ms. */
export interface RangeQuery {
  readonly symbol: string;
  readonly from: number;
  readonly to: number;
  /**
   * Most rows wanted: the earliest `limit` trades (pages follow in time
   * order), the newest `limit` windows (what a chart of the range's end
   * shows); either way returned in time order.
   */
  readonly limit?: number;
}

/** A range of one symbol's windows of one timeframe (by window start). */
export interface WindowRangeQuery extends RangeQuery {
  readonly timeframe: string;
}

/**
 * A store of trades and windows that answers range reads: what the
 * ClickHouse store (`@tickflow/sinks/clickhouse`) and the Timescale store
 * (`@tickflow/sinks/timescale`) both are, checked by the compiler
 * (`implements RangeStore`), so code that reads history (the dashboard's
 * REST routes) can take either without knowing which.
 *
 * - `sink(kind)` writes rows of one kind with batching, retries, the circuit
 *   breaker and backpressure (BatchingSink); closing the sink leaves the
 *   store open.
 * - Reads return rows ordered by time, one per trade key or per window (the
 *   highest `rev`), as written.
 * - `close()` releases the connections; sinks should be closed first.
 *
 * @example
 * ```ts
 * async function lastCandles(store: RangeStore, symbol: string): Promise<Candle[]> {
 *   const to = Date.now();
 *   return store.readCandles({ symbol, timeframe: '1m', from: to - 3_600_000, to });
 * }
 * ```
 */
export interface RangeStore {
  sink(kind: 'trades', options?: SinkOptions): Sink<Trade>;
  sink(kind: 'candles', options?: SinkOptions): Sink<Candle>;
  sink(kind: 'volumeProfiles', options?: SinkOptions): Sink<VolumeProfile>;
  sink(kind: 'tickCounts', options?: SinkOptions): Sink<TickCount>;
  /** Trades of the symbol with `from ≤ ts < to`, by time. */
  readTrades(range: RangeQuery): Promise<Trade[]>;
  /** Candles of the symbol and timeframe whose start is in [from, to), by start. */
  readCandles(range: WindowRangeQuery): Promise<Candle[]>;
  /** Volume profiles of the symbol and timeframe whose start is in [from, to), by start. */
  readVolumeProfiles(range: WindowRangeQuery): Promise<VolumeProfile[]>;
  /** Tick counts of the symbol and timeframe whose start is in [from, to), by start. */
  readTickCounts(range: WindowRangeQuery): Promise<TickCount[]>;
  /** Closes the store's connections. */
  close(): Promise<void>;
}
