import type { DeadLetter } from './events/deadLetter.js';
import type { TradeColumns } from './tradeColumns.js';
import { tradeAt } from './tradeColumns.js';
import type { WatermarkTracker } from './watermarkTracker.js';

declare const keyBrand: unique symbol;
declare const operatorTypes: unique symbol;
declare const lateTypes: unique symbol;

/**
 * A stream of `T` keyed by `K`: produced by `keyBy`, required by windowing
 * operators. The brand exists only in types; at run time the values are the
 * events themselves (no wrapper is allocated).
 */
export type Keyed<K extends string, T> = T & { readonly [keyBrand]: K };

/** How a keyed stream's key is read from an event. */
export interface KeySelector<T> {
  /** Reads the key of one event. */
  readonly of: (event: T) => string;
  /** The field the key is read from, when it is a plain field (enables the columnar path for `'symbol'`). */
  readonly field?: string | undefined;
}

/**
 * An event that arrived after its window closed (watermark ≥ end + grace);
 * sent to the `late` output. `T` is the type of the events the window
 * operator takes (see `Operator`'s third type parameter).
 */
export interface LateEvent<T = unknown> {
  /** The event as it arrived. */
  readonly event: T;
  /** Key of the event's window. */
  readonly key: string;
  /** The window the event belonged to (the last one, for hopping windows). */
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The watermark when it arrived. */
  readonly watermark: number;
  /** The operator that found it late. */
  readonly operator: string;
}

/** What a stage can reach in its pipeline while running. */
export interface StageContext {
  /** Sends an event to the `late` output. */
  late<T>(event: LateEvent<T>): void;
  /** Sends an input to the dead-letter output. */
  deadLetter<T>(letter: DeadLetter<T>): void;
  /** The pipeline's watermark tracker (stages on the columnar path observe event times themselves). */
  readonly watermarks: WatermarkTracker;
  /**
   * The watermark the job has reached with the events before the one being
   * pushed: what the first stage's `advance` would have been told last. A
   * first stage whose `advanceAt` is above it reads it instead of waiting
   * for `advance`.
   */
  readonly passedWatermark: number;
}

/** What an operator sees when its stage is built. */
export interface BuildContext extends StageContext {
  /** The key selector set by the nearest upstream `keyBy`, if any. */
  readonly key: KeySelector<unknown> | undefined;
  /** The pipeline's event-time accessor; undefined means the event's `ts` field. */
  readonly timestamp: ((event: unknown) => number) | undefined;
  /** Replaces the key selector seen by downstream operators (`keyBy` uses this). */
  setKey(selector: KeySelector<unknown> | undefined): void;
  /** Asks the pipeline to call `tick` at least every `ms` while it runs live (throttles, timers). */
  requestTick(ms: number): void;
}

/**
 * One running step of a pipeline. Values are pushed synchronously; the
 * watermark, wall-clock ticks and the end of input travel down the same chain.
 * Subclasses override what they need; the defaults pass things on.
 */
export abstract class Stage<I, O = unknown> {
  /** The downstream stage (set when the pipeline links its stages, before any value flows). */
  next!: Stage<O>;

  /** True when `pushColumns` is implemented natively (not by materialising rows). */
  readonly columnar: boolean = false;

  /** True for the pipeline's output buffer: it ignores watermarks and ticks, so stages need not forward them. */
  readonly terminal: boolean = false;

  /** Processes one value. */
  abstract push(value: I): void;

  /**
   * Processes a columnar batch, observing each row's event time on `input` of
   * the watermark tracker. The default materialises rows; only columnar stages
   * (windowing directly on trades keyed by symbol) are called with columns.
   */
  pushColumns(cols: TradeColumns, input: number, watermarks: WatermarkTracker): void {
    for (let i = 0; i < cols.length; i++) {
      const t = tradeAt(cols, i);
      const before = watermarks.watermark;
      const wm = watermarks.observe(input, t.ts);
      this.push(t as unknown as I);
      if (wm > before) this.advance(wm);
    }
  }

  /**
   * When this stage is the first of its pipeline, the job calls `advance`
   * only once the watermark reaches this value (a call per event costs the
   * per-event path ~10%). The default, −Infinity, means on every advance; a
   * stage that returns more must read `passedWatermark` from its context
   * wherever it needs the watermark between `advance` calls, and must not
   * return more while stages that need every advance follow it.
   */
  get advanceAt(): number {
    return Number.NEGATIVE_INFINITY;
  }

  /** The watermark advanced. */
  advance(watermark: number): void {
    this.next.advance(watermark);
  }

  /** Wall-clock tick (live mode). */
  tick(now: number): void {
    this.next.tick(now);
  }

  /** The input ended: emit everything still held. */
  finish(): void {
    this.next.finish();
  }

  /**
   * The events pushed from now on come from watermark input `input` (a Kafka
   * partition). Stateful stages record which input each key's state belongs
   * to, so that state can be checkpointed per input; the default passes it on.
   */
  setInput(input: number): void {
    this.next.setInput(input);
  }

  /**
   * The state this stage holds for the keys of `input`, as structured-clonable
   * data (see `Job.snapshot`), or undefined for a stateless stage.
   */
  snapshot(_input: number): unknown {
    return undefined;
  }

  /** Restores what `snapshot` returned, for the keys of `input`. */
  restore(_input: number, _state: unknown): void {}
}

/**
 * A pipeline step from `I` to `O`. `build` creates a fresh stage for each
 * pipeline run; an operator that only changes types (such as `keyBy`) returns
 * null and adds no stage. `L` is the type of the events it sends to the
 * `late` output (`never` for operators that send none): the pipeline's
 * `.late()` output is typed by the union of its operators' `L`.
 */
export interface Operator<I, O, L = never> {
  /** Short name for errors, dead letters and metrics. */
  readonly name: string;
  /** Creates this operator's stage. */
  build(ctx: BuildContext): Stage<I, O> | null;
  /** Type-only marker; never set. */
  readonly [operatorTypes]?: (input: I) => O;
  /**
   * Type-only marker of the late-event type; never set. A parameter position,
   * so an operator with late events still fits where `Operator<I, O>` is asked for.
   */
  readonly [lateTypes]?: (late: L) => void;
}
