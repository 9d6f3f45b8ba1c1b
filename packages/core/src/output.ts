/**
 * Receives a stream's values in batches. `write` may return a promise: the
 * pipeline waits for it before reading more input (that is the backpressure),
 * and writes to one output never overlap.
 */
export interface Output<T> {
  /** Delivers one batch (in order). Resolve when it is durable. */
  write(batch: readonly T[]): void | Promise<void>;
  /**
   * Optional: accepts one batch for later delivery (a buffering sink). When
   * present the pipeline calls it instead of `write`; a returned promise means
   * "buffer full, wait" (backpressure) and `close` must deliver everything
   * accepted before it resolves.
   */
  enqueue?(batch: readonly T[]): void | Promise<void>;
  /** Called once at the end of a run, after the last write. */
  close?(): void | Promise<void>;
}

/** An Output, or a plain function called once per value. */
export type OutputLike<T> = Output<T> | ((value: T) => void);

/** Wraps a per-value function (or returns the Output as is). */
export function toOutput<T>(output: OutputLike<T>): Output<T> {
  if (typeof output !== 'function') return output;
  return {
    write(batch) {
      for (let i = 0; i < batch.length; i++) output(batch[i]!);
    },
  };
}

/**
 * An output that keeps everything in an array: for tests, examples and
 * small jobs.
 *
 * @example
 * ```ts
 * const out = collect<Candle>();
 * await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(out).run();
 * console.log(out.values);
 * ```
 */
export function collect<T>(): Output<T> & { readonly values: T[] } {
  const values: T[] = [];
  return {
    values,
    write(batch) {
      for (let i = 0; i < batch.length; i++) values.push(batch[i]!);
    },
  };
}
