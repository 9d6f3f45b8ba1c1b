import type { Duration, Keyed, Operator } from '@tickflow/core';
import { TickflowError, formatDuration, parseDuration } from '@tickflow/core';
import { z } from 'zod';
import type { Aggregator } from './aggregator.js';
import { windowOperator } from './internal/windowOperator.js';
import type { EmitMode } from './windowOptions.js';
import { WindowOptionsSchema, checkOptions, parseEmit, parseSize } from './windowOptions.js';

/** Options of `hopping`. */
export interface HoppingOptions {
  /** Window length. */
  readonly size: Duration;
  /** Distance between window starts (≤ size; equal to size is a tumbling window). */
  readonly hop: Duration;
  /** How long after its end a window still accepts late events. Default 0. */
  readonly grace?: Duration;
  /** When to emit. Default `'final'`. */
  readonly emit?: EmitMode;
  /** Operator name in late events and errors. Default `'hopping'`. */
  readonly name?: string;
}

const HoppingOptionsSchema = WindowOptionsSchema.extend({
  size: z.union([z.number(), z.string()]),
  hop: z.union([z.number(), z.string()]),
});

/**
 * Event-time hopping (sliding) windows over a keyed stream: windows of `size`
 * starting every `hop`, aligned to the UTC epoch; each event is added to every
 * window that contains it (size / hop of them). Firing, grace and late data
 * work as for `tumbling`; an event is late only when every window containing
 * it has closed. The timeframe label of results is the size (`'5m'`).
 *
 * @example
 * ```ts
 * // 5-minute candles every minute
 * pipeline(source).pipe(keyBy('symbol'), hopping({ size: '5m', hop: '1m' }, ohlcv()));
 * ```
 * @see {@link tumbling}
 */
export function hopping<T, Acc, Out>(options: HoppingOptions, aggregator: Aggregator<T, Acc, Out>): Operator<Keyed<string, T>, Out, T> {
  const o = checkOptions(HoppingOptionsSchema, options, 'hopping');
  const size = parseSize(o.size as Duration, 'hopping size');
  const hop = parseSize(o.hop as Duration, 'hopping hop');
  if (hop > size) {
    throw new TickflowError('INVALID_ARGUMENT', `hopping: hop ${formatDuration(hop)} is longer than size ${formatDuration(size)}; events between windows would belong to none`);
  }
  const grace = o.grace === undefined ? 0 : parseDuration(o.grace as Duration, 'hopping grace');
  const emit = parseEmit(o.emit as EmitMode | undefined);
  const name = o.name ?? 'hopping';
  const levels = [{ size, hop, label: formatDuration(size), source: -1 }];
  // Type-only: the window stage sends the events it is given (T) to the late output.
  return windowOperator(name, { levels, grace, emit }, aggregator) as Operator<Keyed<string, T>, Out, T>;
}
