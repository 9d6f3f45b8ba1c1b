import type { Candle, Duration, Keyed, Operator, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { TickflowError, keyBy, parseDuration } from '@tickflow/core';
import type { EmitMode } from '@tickflow/windowing';
import { ohlcv, tickCount, tumbling, volumeProfile } from '@tickflow/windowing';

/** What an aggregation produces. */
export type AggregationKind = 'candles' | 'profile' | 'ticks';

/** The result types by kind. */
export interface AggregationOutput {
  candles: Candle;
  profile: VolumeProfile;
  ticks: TickCount;
}

/** Settings shared by the offline CLI (`tickflow aggregate`) and the live server (`tickflow serve`). */
export interface AggregationSettings {
  /** Timeframes, smallest first or not; larger ones roll up from the smallest. */
  readonly timeframes: readonly Duration[];
  readonly kind: AggregationKind;
  readonly grace?: Duration;
  /** Price step of volume-profile levels. */
  readonly profileStep?: number;
  readonly emit?: EmitMode;
}

/**
 * The operator chain of an aggregation: trades keyed by symbol, then tumbling
 * windows over the requested timeframes with the chosen aggregator. The CLI's
 * offline aggregation and the live server both build their jobs from this, so
 * the same trades give the same results live and in replay.
 */
export function aggregationOperators<K extends AggregationKind>(
  settings: AggregationSettings & { kind: K },
): [Operator<Trade, Keyed<string, Trade>>, Operator<Keyed<string, Trade>, AggregationOutput[K]>] {
  if (settings.timeframes.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'at least one timeframe is needed, e.g. 1m');
  const window = { size: settings.timeframes, grace: settings.grace ?? 0, emit: settings.emit ?? 'final' } as const;
  const step = settings.profileStep ?? 0.05;
  let op: Operator<Keyed<string, Trade>, unknown>;
  switch (settings.kind) {
    case 'candles':
      op = tumbling(window, ohlcv());
      break;
    case 'profile':
      op = tumbling(window, volumeProfile({ step }));
      break;
    case 'ticks':
      op = tumbling(window, tickCount());
      break;
    default: {
      const never: never = settings.kind;
      throw new TickflowError('INVALID_ARGUMENT', `unknown kind "${String(never)}": use candles, profile or ticks`);
    }
  }
  // Validate the grace here too so that a bad value fails before any input is read.
  parseDuration(window.grace, 'grace');
  return [keyBy<Trade, 'symbol'>('symbol'), op as Operator<Keyed<string, Trade>, AggregationOutput[K]>];
}
