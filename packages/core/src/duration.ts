import { z } from 'zod';
import { TickflowError } from './errors.js';

/** A span of time: milliseconds as a number, or a string such as `'500ms'`, `'5s'`, `'1m'`, `'4h'`, `'1d'`. */
export type Duration = number | `${number}${DurationUnit}`;

/** Units accepted in duration strings. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w';

/** The candle timeframes named in the data model, smallest first. */
export const TIMEFRAMES = ['1s', '5s', '15s', '1m', '5m', '15m', '1h', '4h', '1d'] as const;

/** One of the standard candle timeframes. */
export type Timeframe = (typeof TIMEFRAMES)[number];

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/;

/**
 * Parses a duration into milliseconds: numbers are taken as ms, strings need a unit.
 *
 * @example
 * ```ts
 * parseDuration('1m');   // 60000
 * parseDuration(250);    // 250
 * ```
 */
export function parseDuration(value: Duration | string, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new TickflowError(
        'INVALID_DURATION',
        `${what} must be a finite number of milliseconds ≥ 0, got ${value}`,
      );
    }
    return value;
  }
  const match = DURATION_RE.exec(value);
  if (!match) {
    throw new TickflowError(
      'INVALID_DURATION',
      `${what} "${value}" is not a duration: use a number of ms or a string like "500ms", "5s", "1m", "4h", "1d"`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  if (!Number.isInteger(ms)) {
    throw new TickflowError('INVALID_DURATION', `${what} "${value}" is not a whole number of milliseconds`);
  }
  return ms;
}

/**
 * Formats milliseconds as the shortest exact duration string (`60000` → `'1m'`,
 * `90000` → `'90s'`), the label used for a window's timeframe.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * zod schema of a `Duration` option: a number of ms ≥ 0 or a non-empty
 * string; the value is parsed (and its unit checked) by `ms` / `parseDuration`.
 */
export const DurationSchema = z.union([z.number().nonnegative(), z.string().min(1)]);

/**
 * Milliseconds of a duration option that a `DurationSchema` accepted: the one
 * place options turn `'5s'` into 5000. Throws INVALID_DURATION naming `what`.
 *
 * @example
 * ```ts
 * const timeout = ms(options.connectTimeout, 'connectTimeout');
 * ```
 */
export function ms(value: Duration | string, what: string): number {
  return parseDuration(value, what);
}
