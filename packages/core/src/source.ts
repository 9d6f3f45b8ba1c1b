import type { DeadLetter } from './events/deadLetter.js';
import type { TradeColumns } from './tradeColumns.js';

/** A batch of events for one input (partition) of the pipeline. */
export interface InputBatch<T> {
  readonly events: readonly T[];
  /** Watermark input index (partition); 0 when omitted. */
  readonly input?: number;
}

/** A columnar batch of trades for one input. */
export interface ColumnBatch {
  readonly columns: TradeColumns;
  readonly input?: number;
}

/** What a source yields: a plain array (input 0), an InputBatch, or a ColumnBatch. */
export type SourceBatch<T> = readonly T[] | InputBatch<T> | ColumnBatch;

/** What a source can reach while it reads. */
export interface SourceContext {
  /** Aborted when the job stops; a source must end its iteration promptly then. */
  readonly signal: AbortSignal;
  /** Routes an input the source could not parse to the dead-letter output. */
  deadLetter(letter: DeadLetter): void;
  /** Registers another watermark input (a partition) and returns its index. */
  addInput(): number;
  /** An input ended or was revoked: it no longer holds the watermark. */
  removeInput(input: number): void;
}

/**
 * Where events come from. `read` yields batches until the input ends (a
 * finite replay) or the signal aborts (a live feed). Events are yielded in
 * batches so the hot path stays synchronous: one await per batch, never per event.
 */
export interface Source<T> {
  /** Short name for dead letters and logs. */
  readonly name: string;
  /** Reads the input. */
  read(ctx: SourceContext): AsyncIterable<SourceBatch<T>>;
}
