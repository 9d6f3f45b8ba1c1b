/** The window a result belongs to, as seen by an aggregator's `result`. */
export interface WindowRef {
  /** The window's key (the symbol, for trades keyed by symbol). */
  readonly key: string;
  /** Window size label, e.g. `'1m'`. */
  readonly timeframe: string;
  /** Inclusive start, UTC epoch ms. */
  readonly start: number;
  /** Exclusive end, UTC epoch ms. */
  readonly end: number;
  /** True once the watermark has passed the window's end. */
  readonly final: boolean;
  /**
   * Version of this result: 2 × the events folded into the window, + 1 once
   * final. It grows with every event and with finality, and depends only on
   * the input (not on when results were emitted), so a replay ends on the
   * version an uninterrupted run ends on; stores keep the highest.
   */
  readonly rev: number;
}

/**
 * A mergeable aggregation: `create` an empty accumulator, `add` events to it
 * (in place, on the hot path), `merge` two accumulators (rollups, partitions),
 * and read a `result` for a window. Merging must give the same result as
 * adding the events directly, in any grouping; tickflow's own aggregators keep
 * sums in compensated (double-double) form so that holds bit for bit.
 *
 * @example
 * ```ts
 * const maxPrice: Aggregator<Trade, { max: number }, { symbol: string; start: number; max: number }> = {
 *   name: 'maxPrice',
 *   create: () => ({ max: -Infinity }),
 *   add: (acc, t) => { if (t.price > acc.max) acc.max = t.price; },
 *   merge: (into, from) => { if (from.max > into.max) into.max = from.max; },
 *   result: (acc, w) => ({ symbol: w.key, start: w.start, max: acc.max }),
 *   same: (a, b) => a.max === b.max,
 * };
 * ```
 */
export interface Aggregator<In, Acc, Out> {
  /** Short name for errors and metrics. */
  readonly name: string;
  /** A new, empty accumulator. */
  create(): Acc;
  /** Adds one event; `seq` is its arrival order (breaks event-time ties). */
  add(acc: Acc, event: In, seq: number): void;
  /**
   * Adds row `row` of a columnar trade batch, the fast path. Optional: without
   * it, rows are materialised as objects and passed to `add`.
   */
  addColumns?(acc: Acc, columns: ColumnsLike, row: number, seq: number): void;
  /**
   * Empties an accumulator so it can be reused for a new window. Optional:
   * with it, window turnover allocates nothing; without it, `create` is called.
   */
  reset?(acc: Acc): void;
  /** Merges `from` into `into` (`from` is left unchanged). */
  merge(into: Acc, from: Acc): void;
  /** The result for a window. */
  result(acc: Acc, window: WindowRef): Out;
  /**
   * Optional: the accumulator as structured-clonable data, for checkpoints of
   * window state (`Job.snapshot`). Not needed with `packed` (the doubles are
   * the state); without either, jobs using this aggregator cannot checkpoint.
   */
  encode?(acc: Acc): unknown;
  /** Optional, with `encode`: rebuilds what `encode` returned into an empty accumulator. */
  decode?(acc: Acc, data: unknown): void;
  /** True when two results carry the same data (ignoring `final` and `rev`): unchanged updates are suppressed. */
  same(a: Out, b: Out): boolean;
  /**
   * Optional packed layout of the same aggregation: the accumulator as
   * `stride` doubles in a shared Float64Array. Window operators use it when
   * present, which keeps the state of thousands of keys contiguous in memory.
   * Must give results identical to the object form.
   */
  readonly packed?: PackedAggregator<In, Out>;
}

/**
 * An aggregation whose accumulator is `stride` doubles at offset `b` of a
 * Float64Array (`s`). Same contract as Aggregator, on array slices.
 */
export interface PackedAggregator<In, Out> {
  /** Doubles per accumulator. */
  readonly stride: number;
  /** Writes an empty accumulator at `b`. */
  init(s: Float64Array, b: number): void;
  add(s: Float64Array, b: number, event: In, seq: number): void;
  addColumns(s: Float64Array, b: number, columns: ColumnsLike, row: number, seq: number): void;
  /**
   * Optional: adds one trade given as plain numbers (side: 0 unknown, 1 buy,
   * 2 sell). The columnar loop calls it directly when present, which lets V8
   * inline the whole add into the loop.
   */
  addRow?(s: Float64Array, b: number, ts: number, price: number, size: number, side: number, seq: number): void;
  /**
   * Optional: the fused columnar kernel. Adds rows from `from` on while each
   * row can take the window stage's fast path, and returns the index of the
   * first row it did not take (see FastRun for the conditions). Same adds, in
   * the same order, as `addColumns` row by row; the stage handles the rest.
   */
  addRunFast?(s: Float64Array, columns: ColumnsLike, from: number, to: number, run: FastRun): number;
  /** Merges the accumulator at `from` into the one at `into` (same array). */
  merge(s: Float64Array, into: number, from: number): void;
  result(s: Float64Array, b: number, window: WindowRef): Out;
}

/**
 * The window stage's tables as a packed aggregator's fused kernel
 * (`PackedAggregator.addRunFast`) sees them, for one input with no other
 * input holding the watermark back. A row is taken when its symbol has a key
 * (`dictKey[ids[i]] ≥ 0`) first seen on this input (`kInput[k] === input`)
 * and its time falls in the key's current window (`curStart[k] ≤ ts <
 * curEnd[k]`); the kernel then adds it to the accumulator at
 * `wAcc[curW[k]] · stride` with arrival order `seq`, counts it in
 * `wCount[curW[k]]`, and raises `maxTs`. It stops after the first row whose
 * watermark (`watermarks.watermarkOf(ts)`) reaches `due` (windows to fire) and before the first row it
 * does not take. `maxTs` and `seq` are written back.
 */
export interface FastRun {
  ids: Uint32Array | Uint16Array;
  dictKey: Int32Array;
  kInput: Int32Array;
  curStart: Float64Array;
  curEnd: Float64Array;
  curW: Int32Array;
  wAcc: Int32Array;
  wCount: Float64Array;
  stride: number;
  input: number;
  watermarks: { watermarkOf(maxTs: number): number };
  due: number;
  maxTs: number;
  seq: number;
}

/** The columns an aggregator's `addColumns` may read (a TradeColumns batch). */
export interface ColumnsLike {
  readonly ts: Float64Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  readonly side?: Uint8Array | undefined;
}
