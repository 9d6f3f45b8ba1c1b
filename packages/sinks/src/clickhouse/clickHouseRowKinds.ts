import { parseDuration } from '@tickflow/core';
import type { Candle, RowKinds, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { candleProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from '../rowValidation.js';
import type { ParsedClickHouseOptions } from './clickHouseStoreOptions.js';

/** The kinds of rows a ClickHouse sink takes. */
export type ClickHouseSinkKind = 'trades' | 'candles' | 'volumeProfiles' | 'tickCounts';

/** The row type of each sink kind. */
export type ClickHouseRowOfKind = Pick<RowKinds, ClickHouseSinkKind>;

/** Bounds of a read: time in [from, to) (epoch ms); symbol omitted = every symbol on every shard. */
export interface ClickHouseReadRange {
  readonly symbol?: string | undefined;
  /** Inclusive lower bound on `ts` / `start`. Default: none. */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `ts` / `start`. Default: none. */
  readonly to?: number | undefined;
}

/**
 * Explains why a row of `kind` must not be written to a store with these
 * options (validation, or a timeframe without a table), or undefined.
 */
export function rowProblem(kind: ClickHouseSinkKind, row: unknown, o: ParsedClickHouseOptions): string | undefined {
  switch (kind) {
    case 'trades':
      return tradeProblem(row as Trade);
    case 'candles':
      return candleProblem(row as Candle) ?? timeframeProblem('ohlc', (row as Candle).timeframe, o.timeframes, 'timeframes');
    case 'volumeProfiles':
      return volumeProfileProblem(row as VolumeProfile) ?? timeframeProblem('volume_profile', (row as VolumeProfile).timeframe, o.profileTimeframes, 'profileTimeframes');
    case 'tickCounts':
      return tickCountProblem(row as TickCount) ?? timeframeProblem('tick_count', (row as TickCount).timeframe, o.tickCountTimeframes, 'tickCountTimeframes');
  }
}

const timeframeMsCache = new Map<string, number>();

function timeframeProblem(prefix: string, timeframe: string, configured: readonly string[], option: string): string | undefined {
  if (configured.includes(timeframe)) return undefined;
  let ms = timeframeMsCache.get(timeframe);
  if (ms === undefined) {
    ms = parseDuration(timeframe, 'timeframe');
    timeframeMsCache.set(timeframe, ms);
  }
  for (const tf of configured) if (parseDuration(tf, option) === ms) return undefined;
  return `no ClickHouse table ${prefix}_${timeframe} for timeframe "${timeframe}" (configured: ${configured.join(', ')}); add it to the store's ${option} option`;
}
