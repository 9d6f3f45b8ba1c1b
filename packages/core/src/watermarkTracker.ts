import { TickflowError } from './errors.js';

/** Watermark settings: watermark = max event time − outOfOrderness, per input, with idle inputs released (docs/architecture.md). */
export interface WatermarkOptions {
  /** Allowed out-of-orderness in ms: watermark = max event time seen − this. Default 0. */
  readonly outOfOrderness?: number;
  /**
   * Wall-clock ms after which an input with no events stops holding the
   * watermark back. Default: never (an idle input holds it, as in replay).
   */
  readonly idleTimeout?: number | undefined;
  /**
   * Live mode: the watermark also advances with the wall clock to
   * `now − wallClockLag` (ms), so windows close even when nothing trades.
   * Leave unset for replays of historical data.
   */
  readonly wallClockLag?: number | undefined;
}

/**
 * Tracks the event-time watermark over one or more inputs (partitions):
 * per input, the max event time seen minus the allowed out-of-orderness; for
 * the pipeline, the minimum over active inputs. An input idle for longer than
 * `idleTimeout` (wall clock, checked on `tick`) stops holding the minimum back
 * until it sees an event again. The watermark never moves backwards.
 *
 * `observe` is the hot path: a compare and a store for one input.
 */
export class WatermarkTracker {
  /** Current watermark, UTC epoch ms (−Infinity before any event). */
  watermark = Number.NEGATIVE_INFINITY;

  readonly outOfOrderness: number;
  readonly idleTimeout: number | undefined;
  readonly wallClockLag: number | undefined;

  private maxTs: number[] = [];
  private active: boolean[] = [];
  private removed: boolean[] = [];
  private seenSinceTick: boolean[] = [];
  private lastActiveAt: number[] = [];
  /** Fast path: exactly one input registered and active. */
  private single = true;

  constructor(options: WatermarkOptions = {}) {
    const ooo = options.outOfOrderness ?? 0;
    if (!(ooo >= 0) || !Number.isFinite(ooo)) {
      throw new TickflowError('INVALID_ARGUMENT', `outOfOrderness must be a finite number of ms ≥ 0, got ${ooo}`);
    }
    this.outOfOrderness = ooo;
    this.idleTimeout = options.idleTimeout;
    this.wallClockLag = options.wallClockLag;
    this.addInput();
  }

  /** Number of inputs ever registered (indexes 0..n-1). */
  get inputs(): number {
    return this.maxTs.length;
  }

  /** Registers a new input and returns its index. A new input holds the watermark until it sees events or goes idle. */
  addInput(now: number = Date.now()): number {
    const i = this.maxTs.length;
    this.maxTs.push(Number.NEGATIVE_INFINITY);
    this.active.push(true);
    this.removed.push(false);
    this.seenSinceTick.push(false);
    this.lastActiveAt.push(now);
    this.updateSingle();
    return i;
  }

  /** Stops an input from holding the watermark (a revoked partition, an ended stream). */
  removeInput(input: number): void {
    this.checkInput(input);
    this.removed[input] = true;
    this.active[input] = false;
    this.updateSingle();
    this.recompute();
  }

  /**
   * True when exactly one input is registered and active: the watermark is
   * then simply that input's max event time − outOfOrderness, and batch loops
   * may track it inline and report the batch's max with one `observe` at the end.
   */
  get singleInput(): boolean {
    return this.single;
  }

  /**
   * The watermark a max event time gives (max − outOfOrderness), the one
   * formula every watermark here uses; batch loops that track the max inline
   * call it instead of repeating the formula.
   */
  watermarkOf(maxTs: number): number {
    return maxTs - this.outOfOrderness;
  }

  /** The max event time seen on an input (−Infinity before its first event). */
  maxEventTime(input: number): number {
    this.checkInput(input);
    return this.maxTs[input]!;
  }

  /** @internal The max event time of an input, unchecked (hot paths of window stages). */
  maxOf(input: number): number {
    return this.maxTs[input]!;
  }

  /** Records an event time on an input and returns the (possibly advanced) watermark. */
  observe(input: number, ts: number): number {
    if (this.single) {
      // One input: the watermark follows its max directly.
      if (ts > this.maxTs[0]!) {
        this.maxTs[0] = ts;
        const wm = this.watermarkOf(ts);
        if (wm > this.watermark) this.watermark = wm;
      }
      this.seenSinceTick[0] = true;
      return this.watermark;
    }
    return this.observeMany(input, ts);
  }

  private observeMany(input: number, ts: number): number {
    if (input >= this.maxTs.length || input < 0) this.checkInput(input);
    this.seenSinceTick[input] = true;
    if (!this.active[input]) {
      if (this.removed[input]) return this.watermark;
      this.active[input] = true;
      if (ts > this.maxTs[input]!) this.maxTs[input] = ts;
      this.updateSingle();
      this.recompute();
      return this.watermark;
    }
    if (ts > this.maxTs[input]!) {
      this.maxTs[input] = ts;
      this.recompute();
    }
    return this.watermark;
  }

  /**
   * Wall-clock housekeeping: marks inputs idle after `idleTimeout`, applies the
   * live wall-clock watermark. Returns the watermark.
   */
  tick(now: number): number {
    const n = this.maxTs.length;
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (this.removed[i]) continue;
      if (this.seenSinceTick[i]) {
        this.seenSinceTick[i] = false;
        this.lastActiveAt[i] = now;
      } else if (this.active[i] && this.idleTimeout !== undefined && now - this.lastActiveAt[i]! >= this.idleTimeout) {
        this.active[i] = false;
        changed = true;
      }
    }
    if (changed) {
      this.updateSingle();
      this.recompute();
    }
    if (this.wallClockLag !== undefined) {
      const wall = now - this.wallClockLag;
      if (wall > this.watermark) this.watermark = wall;
    }
    return this.watermark;
  }

  /**
   * Marks an input idle now (the caller knows it is quiet, e.g. a Kafka
   * partition read to its end): it stops holding the watermark until its next
   * event. Returns the watermark.
   */
  markIdle(input: number): number {
    this.checkInput(input);
    if (this.active[input] && !this.removed[input]) {
      this.active[input] = false;
      this.updateSingle();
      this.recompute();
    }
    return this.watermark;
  }

  /**
   * Restores an input's max event time from a checkpoint (it becomes active):
   * the input's watermark continues exactly where the checkpointed run left it.
   */
  restoreInput(input: number, maxEventTime: number): number {
    this.checkInput(input);
    if (maxEventTime > this.maxTs[input]!) this.maxTs[input] = maxEventTime;
    if (!this.removed[input]) this.active[input] = true;
    this.updateSingle();
    this.recompute();
    return this.watermark;
  }

  /** Whether an input currently holds the watermark (not idle, not removed). */
  isActive(input: number): boolean {
    this.checkInput(input);
    return this.active[input]!;
  }

  private recompute(): void {
    let min = Number.POSITIVE_INFINITY;
    let any = false;
    for (let i = 0; i < this.maxTs.length; i++) {
      if (!this.active[i]) continue;
      any = true;
      const v = this.maxTs[i]!;
      if (v < min) min = v;
    }
    // All inputs idle: nothing holds the watermark, so it follows the most advanced input.
    if (!any) {
      min = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.maxTs.length; i++) if (!this.removed[i] && this.maxTs[i]! > min) min = this.maxTs[i]!;
    }
    const wm = this.watermarkOf(min);
    if (wm > this.watermark) this.watermark = wm;
  }

  private updateSingle(): void {
    this.single = this.maxTs.length === 1 && this.active[0] === true;
  }

  private checkInput(input: number): void {
    if (!Number.isInteger(input) || input < 0 || input >= this.maxTs.length) {
      throw new TickflowError('INVALID_ARGUMENT', `input ${input} is not registered (inputs: 0..${this.maxTs.length - 1}); call addInput() first`);
    }
  }
}
