/** An input that could not be processed, with the reason; sent to the dead-letter output, never dropped. */
export interface DeadLetter {
  /** What was wrong, in words. */
  readonly reason: string;
  /** The input as received (a raw line, a parsed object, an event that made an operator throw). */
  readonly input: unknown;
  /** Where it came from: a source or operator name. */
  readonly origin: string;
  /** Line number in a replayed file (1-based), when it came from one. */
  readonly line?: number;
}
