/**
 * An input that could not be processed, with the reason; sent to the
 * dead-letter output, never dropped. `T` is the input's type where it is
 * known (a sink's rows, an operator's events); a pipeline's dead-letter
 * output also receives raw source input, so it is `DeadLetter<unknown>`.
 */
export interface DeadLetter<T = unknown> {
  /** What was wrong, in words. */
  readonly reason: string;
  /** The input as received (a raw line, a parsed object, an event that made an operator throw). */
  readonly input: T;
  /** Where it came from: a source or operator name. */
  readonly origin: string;
  /** Line number in a replayed file (1-based), when it came from one. */
  readonly line?: number;
}
