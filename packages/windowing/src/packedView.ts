import type { Aggregator, ColumnsLike, PackedAggregator, WindowRef } from './aggregator.js';

/**
 * The object form of a packed aggregation: each accumulator is its own
 * `stride`-double Float64Array and every method calls the packed aggregator
 * at offset 0, so the arithmetic is written once. Window operators use
 * `packed` directly; the view serves the plain Aggregator contract (code that
 * calls `create`/`add`/`merge`/`result` itself).
 */
export abstract class PackedView<In, Out> implements Aggregator<In, Float64Array, Out> {
  abstract readonly name: string;
  /** Two accumulators side by side, for `merge` (the packed merge works within one array). */
  private readonly pair: Float64Array;

  constructor(readonly packed: PackedAggregator<In, Out>) {
    this.pair = new Float64Array(2 * packed.stride);
  }

  create(): Float64Array {
    const acc = new Float64Array(this.packed.stride);
    this.packed.init(acc, 0);
    return acc;
  }

  reset(acc: Float64Array): void {
    this.packed.init(acc, 0);
  }

  add(acc: Float64Array, event: In, seq: number): void {
    this.packed.add(acc, 0, event, seq);
  }

  addColumns(acc: Float64Array, columns: ColumnsLike, row: number, seq: number): void {
    this.packed.addColumns(acc, 0, columns, row, seq);
  }

  merge(into: Float64Array, from: Float64Array): void {
    const stride = this.packed.stride;
    const pair = this.pair;
    pair.set(into, 0);
    pair.set(from, stride);
    this.packed.merge(pair, 0, stride);
    into.set(pair.subarray(0, stride));
  }

  result(acc: Float64Array, window: WindowRef): Out {
    return this.packed.result(acc, 0, window);
  }

  abstract same(a: Out, b: Out): boolean;
}
