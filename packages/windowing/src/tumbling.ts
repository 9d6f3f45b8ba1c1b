import type { Duration, Keyed, Operator } from '@tickflow/core';
import { TickflowError, formatDuration, parseDuration } from '@tickflow/core';
import { z } from 'zod';
import type { Aggregator } from './aggregator.js';
import type { LevelSpec } from './internal/windowStage.js';
import { windowOperator } from './internal/windowOperator.js';
import type { EmitMode } from './windowOptions.js';
import { WindowOptionsSchema, checkOptions, parseEmit, parseSize } from './windowOptions.js';

/** Options of `tumbling`. */
export interface TumblingOptions {
  /**
   * Window size (`'1m'`), or several timeframes (`['1m', '5m', '1h']`): the
   * smallest aggregates events, each larger one is rolled up from the largest
   * smaller timeframe that divides it. Every size must be a multiple of the smallest.
   */
  readonly size: Duration | readonly Duration[];
  /** How long after its end a window still accepts late events (re-emitted with rev + 1). Default 0. */
  readonly grace?: Duration;
  /** When to emit. Default `'final'`. */
  readonly emit?: EmitMode;
  /** Operator name in late events and errors. Default `'tumbling'`. */
  readonly name?: string;
}

const TumblingOptionsSchema = WindowOptionsSchema.extend({
  size: z.union([z.number(), z.string(), z.array(z.union([z.number(), z.string()])).min(1)]),
});

/** Builds the level plan for a list of tumbling sizes (exported for tests). */
export function tumblingLevels(sizes: readonly number[]): LevelSpec[] {
  const sorted = [...new Set(sizes)].sort((a, b) => a - b);
  const base = sorted[0]!;
  return sorted.map((size, i) => {
    if (size % base !== 0) {
      throw new TickflowError(
        'INVALID_ARGUMENT',
        `tumbling: timeframe ${formatDuration(size)} is not a multiple of the smallest timeframe ${formatDuration(base)}, so it cannot be rolled up from it`,
      );
    }
    let source = -1;
    if (i > 0) {
      source = 0;
      for (let j = i - 1; j > 0; j--) {
        if (size % sorted[j]! === 0) {
          source = j;
          break;
        }
      }
    }
    return { size, hop: size, label: formatDuration(size), source };
  });
}

/**
 * Event-time tumbling windows over a keyed stream, aligned to the UTC epoch
 * (`[start, start + size)`), aggregated by a mergeable aggregator. Several
 * sizes give multi-timeframe output from one pass, higher timeframes rolled up
 * from lower partials (equal to computing them directly).
 *
 * A window fires when the watermark reaches its end and is kept for `grace`:
 * a late event inside grace updates it and re-emits it (rev + 1, final); an
 * event later than that goes to the pipeline's `late` output. State for a
 * window is released when grace ends, so memory follows open windows.
 *
 * @example
 * ```ts
 * pipeline(fromArray(trades), { outOfOrderness: '2s' })
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'], grace: '5s' }, ohlcv()))
 *   .to((candle) => console.log(candle.symbol, candle.timeframe, candle.close));
 * ```
 * @see {@link hopping}
 */
export function tumbling<T, Acc, Out>(options: TumblingOptions, aggregator: Aggregator<T, Acc, Out>): Operator<Keyed<string, T>, Out, T> {
  const o = checkOptions(TumblingOptionsSchema, options, 'tumbling');
  const sizes = (Array.isArray(o.size) ? o.size : [o.size]).map((s, i) => parseSize(s as Duration, Array.isArray(o.size) ? `tumbling size[${i}]` : 'tumbling size'));
  const levels = tumblingLevels(sizes);
  const grace = o.grace === undefined ? 0 : parseDuration(o.grace as Duration, 'tumbling grace');
  const emit = parseEmit(o.emit as EmitMode | undefined);
  const name = o.name ?? 'tumbling';
  // Type-only: the window stage sends the events it is given (T) to the late output.
  return windowOperator(name, { levels, grace, emit }, aggregator) as Operator<Keyed<string, T>, Out, T>;
}
