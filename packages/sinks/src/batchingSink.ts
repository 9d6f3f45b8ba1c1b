import { TickflowError, describeError, formatIssues, ms, toOutput } from '@tickflow/core';
import type { DeadLetter, Output } from '@tickflow/core';
import { currentTracer } from '@tickflow/core/tracing';
import type { TraceContext, TraceSpan, Tracer } from '@tickflow/core/tracing';
import { EventEmitter } from 'eventemitter3';
import { RetryingWriter } from './retryingWriter.js';
import { RowQueue } from './rowQueue.js';
import type { BreakerState, Sink, SinkEvents, SinkStats, SinkTarget } from './sink.js';
import { SinkOptionsSchema } from './sinkOptions.js';
import type { SinkOptions } from './sinkOptions.js';

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
  private readonly writer: RetryingWriter<T>;
  private readonly deadLetterOut: Output<DeadLetter> | undefined;
  private readonly warn: (message: string) => void;

  // Queue of accepted rows: chunks as given, with arrival times; rows are
  // numbered in acceptance order (seq), so "durable up to seq" is one number.
  private readonly queue = new RowQueue<T>();
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
    this.deadLetterOut = options.deadLetter === undefined ? undefined : toOutput(options.deadLetter);
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.writer = new RetryingWriter(target, o, {
      written: (rows, attempts, elapsedMs) => {
        this.counts.rowsWritten += rows;
        this.counts.batchesWritten++;
        this.emit('written', { rows, attempts, ms: elapsedMs });
      },
      failed: (error) => {
        this.lastError = error.message;
      },
      retry: (info) => {
        this.counts.retries++;
        this.emit('retry', info);
      },
      gaveUp: (rows, attempts, cause) => this.giveUp(rows, attempts, cause),
      breaker: (state) => this.setBreaker(state),
    });
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
      this.writer.shutdown();
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
    this.queue.push(rows, Date.now());
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
    return this.closing || this.takenSeq < this.flushUntil || this.queue.length >= this.maxBatchSize;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        if (!this.urgent()) {
          const wait = this.queue.oldestTime() + this.maxBatchAgeMs - Date.now();
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
        const n = Math.min(this.maxBatchSize, this.queue.length);
        this.takenSeq += n;
        const rows = this.queue.take(n);
        const tracer = currentTracer();
        const span = tracer === undefined ? undefined : this.writeSpan(tracer, rows.length);
        const ok = await this.writer.write(rows);
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

  /** A batch failed `retry.maxAttempts` times: its rows go to the dead-letter output with the last error. */
  private giveUp(rows: readonly T[], attempt: number, e: unknown): void {
    this.counts.rowsFailed += rows.length;
    const letters: DeadLetter[] = [];
    for (let i = 0; i < rows.length; i++) letters.push({ reason: `${this.name}: gave up after ${attempt} attempts: ${describeError(e)}`, input: rows[i], origin: this.name });
    this.sendDeadLetters(letters);
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
        else t.reject(new TickflowError('SINK_FAILED', `sink "${this.name}": ${failed[1] - failed[0]} rows were given up after ${this.writer.maxAttempts} attempts (${this.lastError ?? 'unknown error'}); they went to the dead-letter output`));
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
