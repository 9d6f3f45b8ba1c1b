import type { Keyed, Operator } from '../stage.js';

type StringKeys<T> = { [K in keyof T]-?: T[K] extends string ? K : never }[keyof T] & string;

/**
 * Keys a stream, as windowing operators require. Pass a field name (`'symbol'`,
 * which also enables the columnar batch path) or a function. Adds no stage:
 * the key is read where it is needed.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()));
 * pipeline(source).pipe(keyBy((t) => `${t.symbol}@${t.venue}`), tumbling({ size: '1m' }, ohlcv()));
 * ```
 */
export function keyBy<T, F extends StringKeys<T>>(field: F): Operator<T, Keyed<string, T>>;
export function keyBy<T>(selector: (event: T) => string): Operator<T, Keyed<string, T>>;
export function keyBy<T>(fieldOrSelector: string | ((event: T) => string)): Operator<T, Keyed<string, T>> {
  const selector =
    typeof fieldOrSelector === 'string'
      ? { of: (e: T) => (e as Record<string, string>)[fieldOrSelector]!, field: fieldOrSelector }
      : { of: fieldOrSelector, field: undefined };
  return {
    name: 'keyBy',
    build(ctx) {
      ctx.setKey(selector as { of: (e: unknown) => string; field: string | undefined });
      return null;
    },
  };
}
