import { TickflowError } from '../errors.js';
import type { Source } from '../source.js';

/** Options of fromArray. */
export interface FromArrayOptions {
  /** Events per batch handed to the pipeline. Default 8192. */
  readonly batchSize?: number;
}

/**
 * A finite source over an in-memory array, yielded in batches.
 *
 * @example
 * ```ts
 * await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(console.log).run();
 * ```
 */
export function fromArray<T>(events: readonly T[], { batchSize = 8192 }: FromArrayOptions = {}): Source<T> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TickflowError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  }
  return {
    name: 'array',
    async *read(ctx) {
      for (let i = 0; i < events.length; i += batchSize) {
        if (ctx.signal.aborted) return;
        yield i === 0 && events.length <= batchSize ? events : events.slice(i, i + batchSize);
      }
    },
  };
}
