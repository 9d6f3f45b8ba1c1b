import type { Duration, Keyed, Operator } from '@tickflow/core';
import { DurationSchema, TickflowError, formatDuration, parseDuration } from '@tickflow/core';
import type { Stage } from '@tickflow/core/extend';
import { z } from 'zod';
import { CorrelationStage } from './internal/correlationStage.js';
import type { CorrelationPlan } from './internal/correlationStage.js';
import { checkOptions, parseSize } from './windowOptions.js';

/** What the correlation operator reads from an event: its event time and price. */
export interface CorrelationInput {
  readonly ts: number;
  readonly price: number;
}

/**
 * One row of `correlation()`: Pearson's r of log returns between every two
 * symbols over the last `lookback` return intervals, as of the close of the
 * interval [start, end).
 */
export interface CorrelationMatrix {
  /** The return interval, e.g. `'1m'`. */
  readonly interval: string;
  /** The most returns each pair's sample holds. */
  readonly lookback: number;
  /** Start of the interval whose close is the last price of the returns (UTC epoch ms). */
  readonly start: number;
  /** Its exclusive end. */
  readonly end: number;
  /** Symbols with at least one return in the lookback, sorted (UTF-16 code unit order). */
  readonly symbols: readonly string[];
  /**
   * Returns of each symbol in the lookback. Every symbol's returns are one
   * unbroken run up to `end`, so a pair's sample is the last
   * `min(counts[i], counts[j])` intervals.
   */
  readonly counts: readonly number[];
  /**
   * `symbols.length²` correlations, row-major and symmetric: `values[i * n + j]`
   * is r of symbols i and j. NaN where undefined: a sample below `minReturns`
   * or a series that is constant over it. The diagonal is 1 (NaN when undefined).
   */
  readonly values: Float64Array;
}

/** Options of `correlation`. */
export interface CorrelationOptions {
  /** Return interval: returns are taken between the closes of consecutive intervals, aligned to the UTC epoch. Default `'1m'`. */
  readonly interval?: Duration;
  /** How many of the latest returns each correlation uses, e.g. 60 or 390 (a trading day of 1m returns). */
  readonly lookback: number;
  /** How long after its end an interval still accepts late trades; its row is emitted after that. Default 0. */
  readonly grace?: Duration;
  /** Pairs with fewer common returns are NaN. Default 2 (the least that defines r). */
  readonly minReturns?: number;
  /** Trades of symbols beyond this many go to the dead-letter output (the state grows with the square of the symbols). Default 2000. */
  readonly maxSymbols?: number;
  /** Operator name in late events, dead letters and errors. Default `'correlation'`. */
  readonly name?: string;
}

const CorrelationOptionsSchema = z
  .object({
    interval: DurationSchema.optional(),
    lookback: z.number().int().min(2).max(1_000_000),
    grace: DurationSchema.optional(),
    minReturns: z.number().int().min(2).optional(),
    maxSymbols: z.number().int().min(2).max(20_000).optional(),
    name: z.string().min(1).optional(),
  })
  .strict();

/**
 * Rolling cross-asset correlation: Pearson's r of log returns between every
 * two symbols of a keyed trade stream, over the last `lookback` returns, one
 * matrix per return interval.
 *
 * Each symbol's price at an interval is its close there (the price of its
 * latest trade by event time; ties go to the later arrival, as for candles),
 * carried forward through intervals in which it did not trade (a zero
 * return). Intervals in which nothing traded at all (nights, weekends) are
 * skipped, so they add no run of zeros. A symbol's returns start at the
 * interval after its first trade.
 *
 * A row is emitted when the watermark passes an interval's end + grace; a
 * trade for an interval already emitted goes to the `late` output. The
 * co-moments of every pair are updated in place (Welford's update, with the
 * oldest return removed by running it backwards, and rebuilt from the kept
 * returns every `lookback` intervals so rounding cannot drift): O(symbols²)
 * work and memory per interval.
 *
 * The state spans all symbols, so it cannot be checkpointed per Kafka
 * partition: `Job.snapshot` of a job holding this state throws.
 *
 * @example
 * ```ts
 * pipeline(fromArray(trades), { outOfOrderness: '2s' })
 *   .pipe(keyBy('symbol'), correlation({ interval: '1m', lookback: 60 }))
 *   .to((m) => console.log(m.end, m.symbols, m.values));
 * ```
 * @see {@link correlationPairs}
 */
export function correlation<T extends CorrelationInput>(options: CorrelationOptions): Operator<Keyed<string, T>, CorrelationMatrix, T> {
  const o = checkOptions(CorrelationOptionsSchema, options, 'correlation');
  const interval = parseSize((o.interval ?? '1m') as Duration, 'correlation interval');
  const grace = o.grace === undefined ? 0 : parseDuration(o.grace as Duration, 'correlation grace');
  const name = o.name ?? 'correlation';
  const plan: CorrelationPlan = { name, interval, label: formatDuration(interval), lookback: o.lookback, grace, minReturns: o.minReturns ?? 2, maxSymbols: o.maxSymbols ?? 2000 };
  return {
    name,
    build(ctx) {
      if (ctx.key === undefined) {
        throw new TickflowError('PIPELINE_STATE', `${name}: correlation needs a stream keyed by symbol; add keyBy('symbol') before ${name}()`);
      }
      return new CorrelationStage<Keyed<string, T>>(plan, ctx) as Stage<Keyed<string, T>, CorrelationMatrix>;
    },
  };
}

/** One pair of a CorrelationMatrix (see `correlationPairs`). */
export interface CorrelationPair {
  readonly a: string;
  readonly b: string;
  /** Pearson's r, NaN when undefined. */
  readonly value: number;
  /** Returns in the pair's sample. */
  readonly returns: number;
}

/**
 * The pairs of a matrix above its diagonal (a < b in `symbols` order), for
 * stores and wire formats that want one row per pair.
 *
 * @example
 * ```ts
 * for (const p of correlationPairs(matrix)) console.log(p.a, p.b, p.value);
 * ```
 */
export function* correlationPairs(m: CorrelationMatrix): Generator<CorrelationPair> {
  const n = m.symbols.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      yield { a: m.symbols[i]!, b: m.symbols[j]!, value: m.values[i * n + j]!, returns: Math.min(m.counts[i]!, m.counts[j]!) };
    }
  }
}

export { CoMoments } from './internal/coMoments.js';
