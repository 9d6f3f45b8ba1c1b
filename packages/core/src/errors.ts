/** What went wrong, as a stable machine-readable code. */
export type TickflowErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_EVENT'
  | 'INVALID_DURATION'
  | 'PIPELINE_STATE'
  | 'SOURCE_FAILED'
  | 'OUTPUT_FAILED'
  | 'OPERATOR_FAILED'
  | 'SINK_FAILED'
  | 'SINK_CLOSED'
  | 'ABORTED'
  | 'WS_CLOSED'
  | 'BRIDGE_FAILED'
  | 'CHECKPOINT_FAILED'
  | 'INTERNAL';

/**
 * The one error class tickflow throws. `code` says what kind of failure it is,
 * `message` says what was wrong (with the value) and what to do, `cause` keeps
 * the original error when one was wrapped.
 *
 * @example
 * ```ts
 * try { parseDuration('5 minutes'); }
 * catch (e) { if (e instanceof TickflowError && e.code === 'INVALID_DURATION') console.error(e.message); }
 * ```
 */
export class TickflowError extends Error {
  override readonly name = 'TickflowError';
  readonly code: TickflowErrorCode;

  constructor(code: TickflowErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Turns anything thrown into a TickflowError, keeping the original as `cause`. */
export function toTickflowError(
  thrown: unknown,
  code: TickflowErrorCode = 'INTERNAL',
  context?: string,
): TickflowError {
  if (thrown instanceof TickflowError) return thrown;
  const detail = thrown instanceof Error ? thrown.message : String(thrown);
  return new TickflowError(code, context ? `${context}: ${detail}` : detail, { cause: thrown });
}

/** A short human-readable description of anything thrown, for dead-letter reasons. */
export function describeError(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}
