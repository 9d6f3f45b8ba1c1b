import type { Candle, RowKinds, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { candleProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from '../rowValidation.js';

/** The kinds of rows a Timescale sink takes. */
export type TimescaleSinkKind = 'trades' | 'candles' | 'volumeProfiles' | 'tickCounts';

/** The row type of each sink kind. */
export type TimescaleRowOfKind = Pick<RowKinds, TimescaleSinkKind>;

/** A time range of one symbol: `from` inclusive, `to` exclusive, UTC epoch ms. */
export interface TimescaleReadRange {
  readonly symbol: string;
  readonly from: number;
  readonly to: number;
  /** Most rows returned (the earliest). Default: all. */
  readonly limit?: number;
}

/** A range of one symbol's windows of one timeframe (by window start). */
export interface TimescaleWindowRange extends TimescaleReadRange {
  readonly timeframe: string;
}

export type { DailyOhlc, SymbolVolume } from '../volumeBySymbol.js';

/** Why a row of `kind` cannot be stored, or undefined. @internal */
export function rowProblem(kind: TimescaleSinkKind, row: unknown): string | undefined {
  switch (kind) {
    case 'trades':
      return tradeProblem(row as Trade);
    case 'candles':
      return candleProblem(row as Candle);
    case 'volumeProfiles':
      return volumeProfileProblem(row as VolumeProfile);
    case 'tickCounts':
      return tickCountProblem(row as TickCount);
  }
}

/** The table of each sink kind. @internal */
export const KIND_TABLE: Record<TimescaleSinkKind, string> = { trades: 'trades', candles: 'ohlc', volumeProfiles: 'volume_profiles', tickCounts: 'tick_counts' };
