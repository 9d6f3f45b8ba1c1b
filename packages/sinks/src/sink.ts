// The sink contract: what a store adapter implements (SinkTarget), what every
// sink offers (Sink: write, enqueue, flush, close, stats, events) and the
// state it reports. BatchingSink (batchingSink.ts) is the implementation.
import type { DeadLetter, Output, TickflowError } from '@tickflow/core';
import type { EventEmitter } from 'eventemitter3';

/** State of a sink's circuit breaker: `closed` (writing), `open` (failing fast), `halfOpen` (one probe allowed). */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/**
 * What a store adapter implements: one durable, idempotent write of a batch
 * of rows. A `BatchingSink` adds batching, retries, the circuit breaker and
 * backpressure around it.
 */
export interface SinkTarget<T> {
  /** Name used in errors, logs and metrics (e.g. `clickhouse:ohlc`). */
  readonly name: string;
  /** Why a row must not reach the store, or undefined when it is fine. Rejected rows go to the dead-letter output. */
  validate?(row: T): string | undefined;
  /** Writes rows durably. Must be idempotent: writing a row twice leaves one row per key. Throws on failure. */
  writeRows(rows: readonly T[]): Promise<void>;
  /** Releases connections; called once by `close()` after the last write. */
  close?(): Promise<void>;
}

/** Counters and state of a sink, for metrics and tests. */
export interface SinkStats {
  readonly name: string;
  /** Rows accepted for writing (valid ones). */
  readonly rowsAccepted: number;
  /** Rows durably written. */
  readonly rowsWritten: number;
  /** Store writes that succeeded. */
  readonly batchesWritten: number;
  /** Rows rejected by validation (sent to the dead-letter output). */
  readonly rowsRejected: number;
  /** Rows given up after `retry.maxAttempts` failed writes (sent to the dead-letter output). */
  readonly rowsFailed: number;
  /** Failed store writes that were retried. */
  readonly retries: number;
  /** Rows accepted and not yet durable (queued or in flight). */
  readonly buffered: number;
  /** Highest `buffered` seen. */
  readonly maxBuffered: number;
  /** Times `enqueue`/`write` made the caller wait because the buffer was full. */
  readonly backpressureWaits: number;
  readonly breaker: BreakerState;
  /** Times the breaker opened. */
  readonly breakerOpens: number;
  /** The last write error, if any. */
  readonly lastError: string | undefined;
}

/** Events a sink emits (listen with `sink.on(name, fn)`). */
export interface SinkEvents {
  /** A batch became durable. */
  written: (info: { rows: number; attempts: number; ms: number }) => void;
  /** A write failed and will be retried after `delayMs`. */
  retry: (info: { attempt: number; delayMs: number; error: TickflowError }) => void;
  /** The circuit breaker changed state. */
  breaker: (state: BreakerState) => void;
  /** A row went to the dead-letter output. */
  deadLetter: (letter: DeadLetter) => void;
}

/**
 * A sink: an Output that the pipeline feeds through `enqueue` (returns at
 * once while the buffer has room, a promise when it is full), plus `write`
 * for callers that want to know when their rows are durable.
 */
export interface Sink<T> extends Output<T> {
  readonly name: string;
  /** Queues a batch and resolves when every row of it is durable (or rejects if its rows were given up). */
  write(batch: readonly T[]): Promise<void>;
  /** Queues a batch; returns a promise only when the buffer is full (wait for it: that is the backpressure). */
  enqueue(batch: readonly T[]): void | Promise<void>;
  /** Writes everything queued now and resolves when it is durable. */
  flush(): Promise<void>;
  /** Flushes, then releases the store connection. Further writes throw `SINK_CLOSED`. */
  close(): Promise<void>;
  /** Counters and breaker state. */
  readonly stats: SinkStats;
  /** Listens to `written`, `retry`, `breaker` and `deadLetter` events (for metrics and logs). */
  on<E extends EventEmitter.EventNames<SinkEvents>>(event: E, listener: EventEmitter.EventListener<SinkEvents, E>): this;
  /** Removes a listener added with `on`. */
  off<E extends EventEmitter.EventNames<SinkEvents>>(event: E, listener?: EventEmitter.EventListener<SinkEvents, E>): this;
}
