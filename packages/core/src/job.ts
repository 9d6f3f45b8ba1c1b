import { parseDuration } from './duration.js';
import { TickflowError, toTickflowError } from './errors.js';
import type { DeadLetter } from './events/deadLetter.js';
import type { Trade } from './events/trade.js';
import type { Output, OutputLike } from './output.js';
import { toOutput } from './output.js';
import type { PipelineOptions } from './pipelineOptions.js';
import { BufferStage, OutputSlot } from './jobOutputs.js';
import type { Source, SourceBatch, SourceContext } from './source.js';
import type { BuildContext, KeySelector, LateEvent, Operator, Stage } from './stage.js';
import type { TradeColumns } from './tradeColumns.js';
import { WatermarkTracker } from './watermarkTracker.js';

/** Counters of a job, readable at any time. */
export interface JobStats {
  /** Events pushed into the pipeline. */
  readonly events: number;
  /** Values delivered to the main output. */
  readonly emitted: number;
  /** Events sent to the late output. */
  readonly late: number;
  /** Inputs sent to the dead-letter output. */
  readonly deadLetters: number;
  /** Current watermark (UTC epoch ms, −Infinity before any event). */
  readonly watermark: number;
}

/** Options of `Job.run`. */
export interface RunOptions {
  /** Aborting stops reading, delivers what was emitted, and closes the outputs (open windows are not flushed). */
  readonly signal?: AbortSignal;
}

function tsField(event: unknown): number {
  return (event as { ts: number }).ts;
}

/** What `Job.snapshot` returns: the state of one watermark input, structured-clonable (v8.serialize). */
export interface JobSnapshot {
  /** Format version. */
  readonly v: 1;
  /** The job's name (checked on restore). */
  readonly job: string;
  /** The input's max event time (its watermark is this − outOfOrderness). */
  readonly maxEventTime: number;
  /** Per stage, its state for the input's keys (undefined for stateless stages). */
  readonly stages: readonly unknown[];
}

/**
 * A built pipeline: run it over its source with `run()`, or drive it yourself
 * with `push` / `pushBatch` / `pushColumns` and `end()`. Values reach the
 * outputs in batches, in order; one job is one run.
 */
export class Job<In, Out> {
  /** Counter for buffered output values (the hot path checks it once per push). */
  pending = 0;

  readonly name: string;
  private readonly tracker: WatermarkTracker;
  private readonly head: Stage<In>;
  private readonly tail: BufferStage<Out>;
  /** The operator stages, in order (the output buffer excluded). */
  private readonly stages: readonly Stage<unknown>[];
  /** The watermark input the stages were last told about (`Stage.setInput`). */
  private curInput = 0;
  private readonly main: OutputSlot<Out>;
  private readonly lateSlot: OutputSlot<LateEvent<unknown>>;
  private readonly deadSlot: OutputSlot<DeadLetter<unknown>>;
  private readonly tsOf: (event: In) => number;
  private readonly tsIsField: boolean;
  private readonly tickMs: number;
  private readonly needsTicks: boolean;
  private readonly warn: (message: string) => void;
  private lastWm = Number.NEGATIVE_INFINITY;
  private counts = { events: 0, emitted: 0, late: 0, deadLetters: 0 };
  private warned = { late: false, dead: false };
  private state: 'ready' | 'running' | 'ended' = 'ready';
  /** True while outputs are being called synchronously (guards against an output pushing into its own job). */
  private delivering = false;
  private failure: TickflowError | undefined;

  /** @internal Use `pipeline(...).pipe(...).to(...)`. */
  constructor(
    private readonly source: Source<In> | undefined,
    options: PipelineOptions<In>,
    operators: readonly Operator<unknown, unknown>[],
    output: OutputLike<Out>,
    late: OutputLike<LateEvent<never>> | undefined,
    deadLetters: OutputLike<DeadLetter<unknown>> | undefined,
  ) {
    this.name = options.name ?? 'pipeline';
    this.tracker = new WatermarkTracker({
      outOfOrderness: parseDuration(options.outOfOrderness ?? 0, 'outOfOrderness'),
      idleTimeout: options.idleTimeout === undefined ? undefined : parseDuration(options.idleTimeout, 'idleTimeout'),
      wallClockLag: options.wallClockLag === undefined ? undefined : parseDuration(options.wallClockLag, 'wallClockLag'),
    });
    this.tsOf = options.timestamp ?? (tsField as (e: In) => number);
    this.tsIsField = options.timestamp === undefined;
    this.warn = options.onWarning ?? ((m) => console.warn(`[tickflow] ${m}`));
    this.main = new OutputSlot(toOutput(output), 'main');
    // Late events are typed by the builder (the union of its operators' late types); the slot holds them untyped.
    this.lateSlot = new OutputSlot(late === undefined ? undefined : (toOutput(late) as Output<LateEvent<unknown>>), 'late');
    this.deadSlot = new OutputSlot(deadLetters === undefined ? undefined : toOutput(deadLetters), 'deadLetter');

    let tickMs = options.tickInterval === undefined ? 100 : parseDuration(options.tickInterval, 'tickInterval');
    let requested = false;
    let key: KeySelector<unknown> | undefined;
    const passed = (): number => this.lastWm;
    const ctx: BuildContext = {
      late: (e) => this.pushLate(e),
      deadLetter: (d) => this.pushDeadLetter(d),
      watermarks: this.tracker,
      get passedWatermark() {
        return passed();
      },
      timestamp: options.timestamp as ((e: unknown) => number) | undefined,
      get key() {
        return key;
      },
      setKey(selector) {
        key = selector;
      },
      requestTick(ms) {
        requested = true;
        if (ms > 0 && ms < tickMs) tickMs = ms;
      },
    };
    const stages: Stage<unknown>[] = [];
    for (const op of operators) {
      const stage = op.build(ctx);
      if (stage !== null) stages.push(stage);
    }
    this.stages = [...stages];
    this.tail = new BufferStage<Out>(this);
    stages.push(this.tail as Stage<unknown>);
    for (let i = 0; i < stages.length - 1; i++) stages[i]!.next = stages[i + 1]!;
    this.head = stages[0] as Stage<In>;
    this.tickMs = tickMs;
    this.needsTicks = requested || options.idleTimeout !== undefined || options.wallClockLag !== undefined;
  }

  /** Current counters. */
  get stats(): JobStats {
    return { ...this.counts, emitted: this.counts.emitted + this.tail.buf.length, watermark: this.tracker.watermark };
  }

  /** The current watermark (UTC epoch ms). */
  get watermark(): number {
    return this.tracker.watermark;
  }

  /** The event-time settings in ms (undefined when not set). */
  get eventTime(): { readonly outOfOrderness: number; readonly idleTimeout: number | undefined; readonly wallClockLag: number | undefined } {
    const t = this.tracker;
    return { outOfOrderness: t.outOfOrderness, idleTimeout: t.idleTimeout, wallClockLag: t.wallClockLag };
  }

  /**
   * Marks an input idle now: it stops holding the watermark until its next
   * event (for sources that know an input is quiet, such as a Kafka partition
   * read to its end). Windows the watermark passes fire.
   */
  markIdle(input: number): void {
    this.checkOpen();
    const wm = this.tracker.markIdle(input);
    if (wm > this.lastWm) this.advanceTo(wm);
    if (this.pending !== 0) this.deliver();
  }

  /**
   * The state this job holds for watermark input `input`: the input's max
   * event time and, per stage, the open windows of the keys whose events came
   * on that input. With `restore` on a new job it continues exactly where this
   * one stands (checkpoints; see `kafkaConsumer`'s `checkpoints`). Call it
   * between pushes, after `flush()`. Throws CHECKPOINT_FAILED when a key's
   * events came on several inputs (its state cannot be split by input).
   */
  snapshot(input: number): JobSnapshot {
    return { v: 1, job: this.name, maxEventTime: this.tracker.maxEventTime(input), stages: this.stages.map((s) => s.snapshot(input)) };
  }

  /**
   * Restores a `snapshot` taken from a job built the same way, as the state of
   * input `input` of this one. Register every input with `addInput` before
   * restoring any: the restored watermark is the minimum over the inputs
   * registered so far, and windows it has passed fire.
   */
  restore(input: number, snapshot: JobSnapshot): void {
    this.checkOpen();
    if (snapshot.v !== 1 || snapshot.stages.length !== this.stages.length) {
      throw new TickflowError('CHECKPOINT_FAILED', `job "${this.name}": the checkpoint (of job "${snapshot.job}", ${snapshot.stages.length} stages) does not fit this job (${this.stages.length} stages); was the pipeline changed?`);
    }
    this.stages.forEach((s, i) => {
      if (snapshot.stages[i] !== undefined) s.restore(input, snapshot.stages[i]);
    });
    const wm = this.tracker.restoreInput(input, snapshot.maxEventTime);
    if (wm > this.lastWm) this.advanceTo(wm);
    if (this.pending !== 0) this.deliver();
  }

  /** Registers another watermark input (partition) for manual driving; returns its index. */
  addInput(): number {
    const i = this.tracker.addInput();
    // Stages judge lateness per input once there are several: tell them.
    this.head.setInput(this.curInput);
    return i;
  }

  /** Stops an input from holding the watermark. */
  removeInput(input: number): void {
    this.tracker.removeInput(input);
    this.advanceTo(this.tracker.watermark);
    this.deliver();
  }

  /** Pushes one event (on watermark input `input`, default 0). */
  push(event: In, input = 0): void {
    this.checkOpen();
    this.counts.events++;
    if (input !== this.curInput) this.switchInput(input);
    const wm = this.tracker.observe(input, this.tsIsField ? (event as unknown as { ts: number }).ts : this.tsOf(event));
    const head = this.head;
    head.push(event);
    if (wm > this.lastWm) {
      // The first stage is told only once it has work (Stage.advanceAt); it reads passedWatermark meanwhile.
      this.lastWm = wm;
      if (wm >= head.advanceAt) head.advance(wm);
    }
    if (this.pending !== 0) this.deliver();
  }

  /** Pushes a batch of events in order (same result as pushing them one by one). */
  pushBatch(events: readonly In[], input = 0): void {
    this.checkOpen();
    if (input !== this.curInput) this.switchInput(input);
    const head = this.head;
    const tracker = this.tracker;
    const n = events.length;
    this.counts.events += n;
    if (this.tsIsField) {
      for (let i = 0; i < n; i++) {
        const e = events[i]!;
        const wm = tracker.observe(input, (e as unknown as { ts: number }).ts);
        head.push(e);
        if (wm > this.lastWm) {
          this.lastWm = wm;
          if (wm >= head.advanceAt) head.advance(wm);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const e = events[i]!;
        const wm = tracker.observe(input, this.tsOf(e));
        head.push(e);
        if (wm > this.lastWm) {
          this.lastWm = wm;
          if (wm >= head.advanceAt) head.advance(wm);
        }
      }
    }
    if (this.pending !== 0) this.deliver();
  }

  /**
   * Pushes a columnar batch of trades: the fastest entry point. Gives the same
   * result as pushing the rows as Trade objects. Only a job whose input is
   * `Trade` has it (on any other job the call does not compile).
   */
  pushColumns(this: Job<Trade, Out>, columns: TradeColumns, input = 0): void {
    this.checkOpen();
    if (!this.tsIsField) {
      throw new TickflowError('PIPELINE_STATE', 'pushColumns needs the default timestamp (the trade ts column); this pipeline has a custom timestamp function');
    }
    this.counts.events += columns.length;
    if (input !== this.curInput) this.switchInput(input);
    this.head.pushColumns(columns, input, this.tracker);
    const wm = this.tracker.watermark;
    if (wm > this.lastWm) this.advanceTo(wm);
    if (this.pending !== 0) this.deliver();
  }

  /** Runs wall-clock work: idle inputs, live watermark, throttled updates. Called by `run` on a timer. */
  tick(now: number = Date.now()): void {
    if (this.state === 'ended') return;
    const wm = this.tracker.tick(now);
    if (wm > this.lastWm) this.advanceTo(wm);
    this.head.tick(now);
    if (this.pending !== 0) this.deliver();
  }

  /** Waits until every write handed to the outputs so far has completed. */
  async flush(): Promise<void> {
    this.deliver();
    await this.drain();
    if (this.failure) throw this.failure;
  }

  /**
   * Ends the input: flushes every open window (as at end of a replay), delivers
   * everything, closes the outputs, and resolves with the final counters.
   */
  async end(): Promise<JobStats> {
    if (this.state === 'ended') return this.stats;
    this.state = 'ended';
    try {
      this.head.finish();
    } catch (e) {
      this.fail(e, 'OPERATOR_FAILED', 'finishing the pipeline');
    }
    return this.close();
  }

  /**
   * Reads the source to its end (or until `signal` aborts) through the
   * operators into the outputs, then flushes and closes. Resolves with the
   * final counters; rejects with a TickflowError if the source or an output fails.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * process.once('SIGINT', () => ac.abort());
   * const stats = await job.run({ signal: ac.signal });
   * ```
   */
  async run(options: RunOptions = {}): Promise<JobStats> {
    const source = this.source;
    if (source === undefined) {
      throw new TickflowError('PIPELINE_STATE', `job "${this.name}" has no source: pass one to pipeline(source), or drive it with push()/end()`);
    }
    if (this.state !== 'ready') throw new TickflowError('PIPELINE_STATE', `job "${this.name}" has already ${this.state === 'running' ? 'started' : 'ended'}; build a new job with .to() for another run`);
    this.state = 'running';
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(options.signal?.reason);
    if (options.signal?.aborted) ac.abort(options.signal.reason);
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.needsTicks ? setInterval(() => this.safeTick(), this.tickMs) : undefined;
    const ctx: SourceContext = {
      signal: ac.signal,
      deadLetter: (d) => this.pushDeadLetter(d),
      addInput: () => this.tracker.addInput(),
      removeInput: (i) => this.removeInput(i),
    };
    try {
      for await (const batch of source.read(ctx)) {
        if (ac.signal.aborted) break;
        this.pushSourceBatch(batch);
        if (this.failure) throw this.failure;
        if (this.inflight() !== 0) await this.drain();
        if (this.failure) throw this.failure;
      }
    } catch (e) {
      clearInterval(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.state = 'ended';
      const err = this.failure ?? toTickflowError(e, 'SOURCE_FAILED', `source "${source.name}" failed`);
      await this.close().catch(() => undefined);
      throw err;
    }
    clearInterval(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (ac.signal.aborted) {
      this.state = 'ended';
      return this.close();
    }
    this.state = 'running';
    return this.end();
  }

  private pushSourceBatch(batch: SourceBatch<In>): void {
    if (Array.isArray(batch)) {
      this.pushBatch(batch as readonly In[], 0);
    } else if ('columns' in batch) {
      // A source yields columns only when its events are trades.
      (this as unknown as Job<Trade, Out>).pushColumns(batch.columns, batch.input ?? 0);
    } else {
      const b = batch as { events: readonly In[]; input?: number };
      this.pushBatch(b.events, b.input ?? 0);
    }
  }

  private switchInput(input: number): void {
    this.curInput = input;
    this.head.setInput(input);
  }

  private safeTick(): void {
    try {
      this.tick(Date.now());
    } catch (e) {
      this.fail(e, 'OPERATOR_FAILED', 'tick');
    }
  }

  private advanceTo(wm: number): void {
    this.lastWm = wm;
    this.head.advance(wm);
  }

  private pushLate(event: LateEvent<unknown>): void {
    this.counts.late++;
    this.lateSlot.buf.push(event);
    this.pending++;
    if (this.lateSlot.output === undefined && !this.warned.late) {
      this.warned.late = true;
      this.warn(`${this.name}: an event arrived after its window closed (key ${event.key}, window ${new Date(event.windowStart).toISOString()}); it is counted in stats.late. Add .late(output) to receive late events.`);
    }
  }

  private pushDeadLetter(letter: DeadLetter<unknown>): void {
    this.counts.deadLetters++;
    this.deadSlot.buf.push(letter);
    this.pending++;
    if (this.deadSlot.output === undefined && !this.warned.dead) {
      this.warned.dead = true;
      this.warn(`${this.name}: bad input from ${letter.origin}${letter.line === undefined ? '' : ` line ${letter.line}`}: ${letter.reason}; it is counted in stats.deadLetters. Add .deadLetters(output) to receive them.`);
    }
  }

  /** @internal Called by the main buffer when it holds a full chunk. */
  deliverEarly(): void {
    if (!this.delivering) this.deliver();
  }

  /** Hands buffered values to the outputs (synchronously for sync outputs). */
  private deliver(): void {
    this.delivering = true;
    try {
      this.deliverAll();
    } finally {
      this.delivering = false;
    }
  }

  private deliverAll(): void {
    this.pending = 0;
    if (this.tail.buf.length !== 0) {
      const batch = this.tail.buf;
      this.tail.buf = [];
      this.counts.emitted += batch.length;
      this.write(this.main, batch);
    }
    if (this.lateSlot.buf.length !== 0) {
      const batch = this.lateSlot.buf;
      this.lateSlot.buf = [];
      this.write(this.lateSlot, batch);
    }
    if (this.deadSlot.buf.length !== 0) {
      const batch = this.deadSlot.buf;
      this.deadSlot.buf = [];
      this.write(this.deadSlot, batch);
    }
  }

  private write<T>(slot: OutputSlot<T>, batch: T[]): void {
    const output = slot.output;
    if (output === undefined) return;
    if (slot.tail !== undefined) {
      // A write is in flight: queue behind it so writes never overlap.
      slot.inflight++;
      slot.tail = slot.tail.then(() => this.callWrite(slot, output, batch)).finally(() => {
        slot.inflight--;
      });
      return;
    }
    let r: void | Promise<void>;
    try {
      r = output.enqueue !== undefined ? output.enqueue(batch) : output.write(batch);
    } catch (e) {
      this.fail(e, 'OUTPUT_FAILED', `${slot.label} output write failed`);
      if (this.failure) throw this.failure;
      return;
    }
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
      slot.inflight++;
      const p: Promise<void> = (r as Promise<void>)
        .catch((e: unknown) => this.fail(e, 'OUTPUT_FAILED', `${slot.label} output write failed`))
        .finally(() => {
          slot.inflight--;
          if (slot.tail === p) slot.tail = undefined;
        });
      slot.tail = p;
    }
  }

  private async callWrite<T>(slot: OutputSlot<T>, output: Output<T>, batch: T[]): Promise<void> {
    if (this.failure) return;
    try {
      await (output.enqueue !== undefined ? output.enqueue(batch) : output.write(batch));
    } catch (e) {
      this.fail(e, 'OUTPUT_FAILED', `${slot.label} output write failed`);
    }
  }

  private inflight(): number {
    return this.main.inflight + this.lateSlot.inflight + this.deadSlot.inflight;
  }

  private async drain(): Promise<void> {
    while (this.inflight() !== 0) {
      await Promise.all([this.main.tail, this.lateSlot.tail, this.deadSlot.tail]);
    }
  }

  private async close(): Promise<JobStats> {
    this.deliver();
    await this.drain();
    for (const slot of [this.main, this.lateSlot, this.deadSlot] as OutputSlot<unknown>[]) {
      try {
        await slot.output?.close?.();
      } catch (e) {
        this.fail(e, 'OUTPUT_FAILED', `${slot.label} output close failed`);
      }
    }
    if (this.failure) throw this.failure;
    return this.stats;
  }

  private fail(e: unknown, code: 'OUTPUT_FAILED' | 'OPERATOR_FAILED', context: string): void {
    if (this.failure === undefined) this.failure = toTickflowError(e, code, `${this.name}: ${context}`);
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.delivering) {
      throw new TickflowError('PIPELINE_STATE', `job "${this.name}": an output pushed into its own job while being called; defer it (queueMicrotask) or use a second job`);
    }
    if (this.state === 'ended') throw new TickflowError('PIPELINE_STATE', `job "${this.name}" has ended; build a new job with .to() to process more input`);
  }
}
