import { DurationSchema, TickflowError, describeError, formatIssues, ms, toOutput } from '@tickflow/core';
import type { DeadLetter, Output, OutputLike } from '@tickflow/core';
import { currentTracer } from '@tickflow/core/tracing';
import type { TraceContext, TraceSpan, Tracer } from '@tickflow/core/tracing';
import { EventEmitter } from 'eventemitter3';
import CircuitBreaker from 'opossum';
import { z } from 'zod';
import { backoffDelay } from './backoff.js';
import type { BackoffSettings } from './backoff.js';

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


/** Options of every sink: batching, buffer bound, retry, circuit breaker, dead letters. */
export const SinkOptionsSchema = z.object({
  /** Most rows per store write. Default 5 000. */
  maxBatchSize: z.number().int().positive().default(5_000),
  /** Longest a row waits for its batch to fill before it is written anyway. Default 200 ms. */
  maxBatchAge: DurationSchema.default(200),
  /** Rows accepted but not yet durable beyond which callers wait (backpressure). Default 100 000. */
  maxBufferedRows: z.number().int().positive().default(100_000),
  retry: z
    .object({
      /** First retry delay. Default 50 ms. */
      initialDelay: DurationSchema.default(50),
      /** Longest delay between retries. Default 5 s. */
      maxDelay: DurationSchema.default(5_000),
      /** Growth per retry. Default 2. */
      factor: z.number().min(1).default(2),
      /** Attempts per batch before its rows go to the dead-letter output. Default: retry for ever (nothing is dropped). */
      maxAttempts: z.number().int().positive().or(z.literal(Infinity)).default(Infinity),
    })
    .prefault({}),
  breaker: z
    .object({
      /** Error percentage over the rolling window that opens the breaker. Default 50. */
      errorThresholdPercentage: z.number().min(1).max(100).default(50),
      /** Writes in the rolling window before the breaker may open. Default 3. */
      volumeThreshold: z.number().int().nonnegative().default(3),
      /** How long the breaker stays open before a half-open probe. Default 2 s. */
      resetTimeout: DurationSchema.default(2_000),
      /** Rolling window of the error statistics. Default 10 s. */
      rollingWindow: DurationSchema.default(10_000),
      /** A store write slower than this counts as failed (and is retried; writes are idempotent). Default 30 s. */
      timeout: DurationSchema.default(30_000),
    })
    .prefault({}),
});

/** Options of every sink (see SinkOptionsSchema for defaults). */
export type SinkOptions = z.input<typeof SinkOptionsSchema> & {
  /** Where rejected rows go, with the reason. Default: counted, emitted as `deadLetter` events, and warned about once. */
  readonly deadLetter?: OutputLike<DeadLetter> | undefined;
  /** Called with warnings (default console.warn). */
  readonly warn?: ((message: string) => void) | undefined;
};

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

interface Ticket {
  readonly from: number;
  readonly to: number;
  readonly resolve: () => void;
  readonly reject: (e: TickflowError) => void;
}

/**
 * Wraps a `SinkTarget` with everything a production sink needs: batching by
 * size and age, one write in flight at a time (rows reach the store in
 * order), retries with exponential backoff and jitter, a circuit breaker
 * (opossum) whose state is exposed, and a bounded buffer that pauses the
 * pipeline when the store falls behind. Bad rows go to the dead-letter
 * output with the reason before they reach the store. Nothing is dropped: by
 * default a batch is retried until the store takes it.
 *
 * @example
 * ```ts
 * const sink = new BatchingSink({ name: 'console', writeRows: async (rows) => console.log(rows.length) }, { maxBatchSize: 1000 });
 * await pipeline(fromArray(trades)).to(sink).run(); // close() flushes
 * ```
 */
export class BatchingSink<T> extends EventEmitter<SinkEvents> implements Sink<T> {
  readonly name: string;
  private readonly maxBatchSize: number;
  private readonly maxBatchAgeMs: number;
  private readonly maxBufferedRows: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffSettings;
  private readonly breakerImpl: CircuitBreaker<[readonly T[]], void>;
  private readonly deadLetterOut: Output<DeadLetter> | undefined;
  private readonly warn: (message: string) => void;

  // Queue of accepted rows: chunks as given, with arrival times; rows are
  // numbered in acceptance order (seq), so "durable up to seq" is one number.
  private chunks: (readonly T[])[] = [];
  private chunkTimes: number[] = [];
  private chunkHead = 0;
  private rowHead = 0;
  private queued = 0;
  private acceptedSeq = 0;
  private takenSeq = 0;
  private doneSeq = 0;
  private flushUntil = 0;
  private tickets: Ticket[] = [];
  private failedRanges: [number, number][] = [];
  private roomWaiters: (() => void)[] = [];
  private pumping = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private closed = false;
  private warnedDeadLetter = false;
  private breakerState: BreakerState = 'closed';
  private counts = { rowsWritten: 0, batchesWritten: 0, rowsRejected: 0, rowsFailed: 0, retries: 0, maxBuffered: 0, backpressureWaits: 0, breakerOpens: 0 };
  private lastError: string | undefined;
  // Tracing only (see @tickflow/core/tracing): the contexts the rows of the next store write were enqueued under.
  private traceParent: TraceContext | undefined;
  private traceLinks: TraceContext[] | undefined;

  constructor(
    private readonly target: SinkTarget<T>,
    options: SinkOptions = {},
  ) {
    super();
    const parsed = SinkOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TickflowError('INVALID_ARGUMENT', `invalid options for sink "${target.name}": ${formatIssues(parsed.error)}`);
    }
    const o = parsed.data;
    this.name = target.name;
    this.maxBatchSize = o.maxBatchSize;
    this.maxBatchAgeMs = ms(o.maxBatchAge, 'maxBatchAge');
    this.maxBufferedRows = Math.max(o.maxBufferedRows, 1);
    this.maxAttempts = o.retry.maxAttempts;
    this.backoff = { initialDelayMs: ms(o.retry.initialDelay, 'retry.initialDelay'), maxDelayMs: ms(o.retry.maxDelay, 'retry.maxDelay'), factor: o.retry.factor };
    this.deadLetterOut = options.deadLetter === undefined ? undefined : toOutput(options.deadLetter);
    this.warn = options.warn ?? ((m) => console.warn(m));
    const timeout = ms(o.breaker.timeout, 'breaker.timeout');
    this.breakerImpl = new CircuitBreaker((rows: readonly T[]) => this.target.writeRows(rows), {
      name: target.name,
      timeout: timeout > 0 ? timeout : false,
      resetTimeout: ms(o.breaker.resetTimeout, 'breaker.resetTimeout'),
      rollingCountTimeout: ms(o.breaker.rollingWindow, 'breaker.rollingWindow'),
      errorThresholdPercentage: o.breaker.errorThresholdPercentage,
      volumeThreshold: o.breaker.volumeThreshold,
    });
    this.breakerImpl.on('open', () => this.setBreaker('open'));
    this.breakerImpl.on('halfOpen', () => this.setBreaker('halfOpen'));
    this.breakerImpl.on('close', () => this.setBreaker('closed'));
  }

  /** Counters and breaker state. */
  get stats(): SinkStats {
    return { name: this.name, rowsAccepted: this.acceptedSeq, ...this.counts, buffered: this.acceptedSeq - this.doneSeq, breaker: this.breakerState, lastError: this.lastError };
  }

  enqueue(batch: readonly T[]): void | Promise<void> {
    this.accept(batch);
    return this.room();
  }

  async write(batch: readonly T[]): Promise<void> {
    await this.room();
    const from = this.acceptedSeq;
    this.accept(batch);
    const to = this.acceptedSeq;
    if (to === from) return;
    return new Promise<void>((resolve, reject) => {
      this.tickets.push({ from, to, resolve, reject });
    });
  }

  async flush(): Promise<void> {
    this.flushUntil = this.acceptedSeq;
    if (this.doneSeq >= this.flushUntil) return;
    const from = this.doneSeq;
    const p = new Promise<void>((resolve, reject) => this.tickets.push({ from, to: this.flushUntil, resolve, reject }));
    this.kick();
    return p.catch(() => undefined);
  }

  close(): Promise<void> {
    // Every caller waits for the same close: the last rows durable, the target closed.
    this.closePromise ??= this.closeOnce();
    return this.closePromise;
  }

  private async closeOnce(): Promise<void> {
    this.closing = true;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.breakerImpl.shutdown();
      await this.target.close?.();
    }
  }

  private accept(batch: readonly T[]): void {
    if (this.closed) {
      throw new TickflowError('SINK_CLOSED', `sink "${this.name}" is closed; create a new sink to write more rows`);
    }
    const n = batch.length;
    if (n === 0) return;
    let rows = batch;
    const validate = this.target.validate;
    if (validate !== undefined) {
      let bad: string | undefined;
      let i = 0;
      for (; i < n; i++) {
        bad = validate.call(this.target, batch[i]!);
        if (bad !== undefined) break;
      }
      if (bad !== undefined) rows = this.rejectFrom(batch, i, bad);
    }
    if (rows.length === 0) return;
    const tracer = currentTracer();
    if (tracer !== undefined) this.noteTrace(tracer);
    this.chunks.push(rows);
    this.chunkTimes.push(Date.now());
    this.queued += rows.length;
    this.acceptedSeq += rows.length;
    const buffered = this.acceptedSeq - this.doneSeq;
    if (buffered > this.counts.maxBuffered) this.counts.maxBuffered = buffered;
    this.kick();
  }

  /** Slow path: copies the valid rows, sends the others to the dead-letter output. */
  private rejectFrom(batch: readonly T[], firstBad: number, firstReason: string): T[] {
    const validate = this.target.validate!;
    const good: T[] = batch.slice(0, firstBad);
    const letters: DeadLetter[] = [{ reason: `${this.name}: ${firstReason}`, input: batch[firstBad], origin: this.name }];
    for (let i = firstBad + 1; i < batch.length; i++) {
      const row = batch[i]!;
      const reason = validate.call(this.target, row);
      if (reason === undefined) good.push(row);
      else letters.push({ reason: `${this.name}: ${reason}`, input: row, origin: this.name });
    }
    this.counts.rowsRejected += letters.length;
    this.sendDeadLetters(letters);
    return good;
  }

  private sendDeadLetters(letters: DeadLetter[]): void {
    for (const l of letters) this.emit('deadLetter', l);
    if (this.deadLetterOut !== undefined) {
      try {
        const r = this.deadLetterOut.write(letters);
        if (r !== undefined) r.catch((e: unknown) => this.warn(`${this.name}: dead-letter output failed: ${describeError(e)}`));
      } catch (e) {
        this.warn(`${this.name}: dead-letter output failed: ${describeError(e)}`);
      }
    } else if (!this.warnedDeadLetter && this.listenerCount('deadLetter') === 0) {
      this.warnedDeadLetter = true;
      this.warn(`${this.name}: rejected a row (${letters[0]!.reason}); rejected rows are counted in stats.rowsRejected. Pass { deadLetter } to receive them.`);
    }
  }

  private room(): void | Promise<void> {
    if (this.acceptedSeq - this.doneSeq <= this.maxBufferedRows) return undefined;
    this.counts.backpressureWaits++;
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private kick(): void {
    if (!this.pumping) void this.pump();
  }

  private urgent(): boolean {
    return this.closing || this.takenSeq < this.flushUntil || this.queued >= this.maxBatchSize;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queued > 0) {
        if (!this.urgent()) {
          const wait = this.chunkTimes[this.chunkHead]! + this.maxBatchAgeMs - Date.now();
          if (wait > 0) {
            if (this.timer === undefined) {
              this.timer = setTimeout(() => {
                this.timer = undefined;
                this.kick();
              }, wait);
            }
            return;
          }
        }
        const from = this.takenSeq;
        const rows = this.take(Math.min(this.maxBatchSize, this.queued));
        const tracer = currentTracer();
        const span = tracer === undefined ? undefined : this.writeSpan(tracer, rows.length);
        const ok = await this.writeWithRetry(rows);
        span?.end(ok ? undefined : new Error(this.lastError));
        if (!ok) this.failedRanges.push([from, from + rows.length]);
        this.doneSeq += rows.length;
        this.settle();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Remembers the active trace context of an enqueued batch: the next write's parent, or one of its (at most 16) links. */
  private noteTrace(tracer: Tracer): void {
    const ctx = tracer.active();
    if (this.traceParent === undefined) this.traceParent = ctx;
    else if (ctx !== this.traceParent && (this.traceLinks ??= []).length < 16 && !this.traceLinks.includes(ctx)) this.traceLinks.push(ctx);
  }

  /** One span per store write: a child of the context the first of its rows was enqueued under, linked to the others. */
  private writeSpan(tracer: Tracer, rows: number): TraceSpan {
    const span = tracer.startSpan(`sink write ${this.name}`, { parent: this.traceParent, links: this.traceLinks, attributes: { 'tickflow.sink': this.name, 'tickflow.rows': rows } });
    this.traceParent = undefined;
    this.traceLinks = undefined;
    return span;
  }

  /** Takes the next `n` rows off the queue (the caller's array itself when it is exactly one whole chunk). */
  private take(n: number): readonly T[] {
    this.queued -= n;
    this.takenSeq += n;
    const first = this.chunks[this.chunkHead]!;
    if (this.rowHead === 0 && first.length === n) {
      this.dropChunk();
      return first;
    }
    const out: T[] = new Array<T>(n);
    let k = 0;
    while (k < n) {
      const chunk = this.chunks[this.chunkHead]!;
      const m = Math.min(n - k, chunk.length - this.rowHead);
      for (let i = 0; i < m; i++) out[k++] = chunk[this.rowHead + i]!;
      this.rowHead += m;
      if (this.rowHead === chunk.length) this.dropChunk();
    }
    return out;
  }

  private dropChunk(): void {
    this.chunkHead++;
    this.rowHead = 0;
    if (this.chunkHead === this.chunks.length) {
      this.chunks = [];
      this.chunkTimes = [];
      this.chunkHead = 0;
    } else if (this.chunkHead > 1024) {
      this.chunks = this.chunks.slice(this.chunkHead);
      this.chunkTimes = this.chunkTimes.slice(this.chunkHead);
      this.chunkHead = 0;
    }
  }

  private async writeWithRetry(rows: readonly T[]): Promise<boolean> {
    const t0 = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.breakerImpl.fire(rows);
        this.counts.rowsWritten += rows.length;
        this.counts.batchesWritten++;
        this.emit('written', { rows: rows.length, attempts: attempt, ms: Date.now() - t0 });
        return true;
      } catch (e) {
        const error = new TickflowError('SINK_FAILED', `sink "${this.name}": writing ${rows.length} rows failed (attempt ${attempt}): ${describeError(e)}`, { cause: e });
        this.lastError = error.message;
        if (attempt >= this.maxAttempts) {
          this.counts.rowsFailed += rows.length;
          const letters: DeadLetter[] = [];
          for (let i = 0; i < rows.length; i++) letters.push({ reason: `${this.name}: gave up after ${attempt} attempts: ${describeError(e)}`, input: rows[i], origin: this.name });
          this.sendDeadLetters(letters);
          return false;
        }
        this.counts.retries++;
        const delayMs = backoffDelay(attempt, this.backoff);
        this.emit('retry', { attempt, delayMs, error });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Resolves tickets whose rows are all done, wakes writers waiting for room. */
  private settle(): void {
    const done = this.doneSeq;
    if (this.tickets.length !== 0) {
      const waiting: Ticket[] = [];
      for (const t of this.tickets) {
        if (t.to > done) {
          waiting.push(t);
          continue;
        }
        const failed = this.failedRanges.find(([a, b]) => a < t.to && b > t.from);
        if (failed === undefined) t.resolve();
        else t.reject(new TickflowError('SINK_FAILED', `sink "${this.name}": ${failed[1] - failed[0]} rows were given up after ${this.maxAttempts} attempts (${this.lastError ?? 'unknown error'}); they went to the dead-letter output`));
      }
      this.tickets = waiting;
    }
    if (this.failedRanges.length !== 0) {
      const oldest = this.tickets.reduce((m, t) => Math.min(m, t.from), Infinity);
      this.failedRanges = this.failedRanges.filter(([, b]) => b > oldest);
    }
    if (this.roomWaiters.length !== 0 && this.acceptedSeq - done <= this.maxBufferedRows) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  private setBreaker(state: BreakerState): void {
    if (state === this.breakerState) return;
    this.breakerState = state;
    if (state === 'open') this.counts.breakerOpens++;
    this.emit('breaker', state);
  }
}
