import { TickflowError } from '../errors.js';
import type { Source } from '../source.js';

/** Options of fromIterable. */
export interface FromIterableOptions {
  /**
   * Most events per batch. Items are batched only while more are ready at
   * once; a live iterable that yields one item at a time still gets each item
   * delivered without waiting. Default 1024.
   */
  readonly batchSize?: number;
  /** Name used in dead letters and logs. Default `'iterable'`. */
  readonly name?: string;
}

/**
 * A source over any iterable or async iterable of events (a generator, a
 * stream in object mode, a message queue client). Ends when the iterable ends;
 * stops early when the job is aborted.
 *
 * @example
 * ```ts
 * async function* trades() { for await (const msg of feed) yield parseTrade(msg); }
 * await pipeline(fromIterable(trades())).pipe(…).to(out).run();
 * ```
 */
export function fromIterable<T>(
  iterable: Iterable<T> | AsyncIterable<T>,
  { batchSize = 1024, name = 'iterable' }: FromIterableOptions = {},
): Source<T> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TickflowError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  }
  return {
    name,
    async *read(ctx) {
      if (Symbol.iterator in iterable) {
        let batch: T[] = [];
        for (const e of iterable as Iterable<T>) {
          batch.push(e);
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
            if (ctx.signal.aborted) return;
          }
        }
        if (batch.length > 0) yield batch;
        return;
      }
      const it = (iterable as AsyncIterable<T>)[Symbol.asyncIterator]();
      const aborted = new Promise<'aborted'>((resolve) => {
        if (ctx.signal.aborted) resolve('aborted');
        else ctx.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
      });
      try {
        let pending: Promise<IteratorResult<T>> | undefined;
        for (;;) {
          const next = pending ?? it.next();
          pending = undefined;
          const first = await Promise.race([next, aborted]);
          if (first === 'aborted' || first.done) return;
          const batch: T[] = [first.value];
          let failure: { error: unknown } | undefined;
          // Take whatever is already available without waiting on the next item.
          while (batch.length < batchSize) {
            const p = it.next();
            let r: IteratorResult<T> | undefined;
            try {
              r = await Promise.race([p, Promise.resolve(undefined)]);
            } catch (error) {
              // Deliver what was read before the failure, then fail.
              failure = { error };
              break;
            }
            if (r === undefined) {
              pending = p;
              break;
            }
            if (r.done) {
              yield batch;
              return;
            }
            batch.push(r.value);
          }
          yield batch;
          if (failure !== undefined) throw failure.error;
        }
      } finally {
        await it.return?.();
      }
    },
  };
}
