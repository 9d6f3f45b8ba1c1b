import { TickflowError } from '@tickflow/core';
import type { Aggregator, ColumnsLike, PackedAggregator, WindowRef } from '../aggregator.js';

/**
 * Storage for the accumulators of open windows, addressed by integer handles.
 * The window engine never holds accumulator objects itself, so the same
 * engine runs on packed Float64Array state or on aggregator-defined objects.
 */
export interface AccArena<In, Out> {
  /** A handle to a new, empty accumulator. */
  alloc(): number;
  /** Returns a handle for reuse. */
  release(h: number): void;
  add(h: number, event: In, seq: number): void;
  addColumns(h: number, columns: ColumnsLike, row: number, seq: number): void;
  merge(into: number, from: number): void;
  result(h: number, window: WindowRef): Out;
  /** The accumulator as structured-clonable data (checkpoints). */
  exportAcc(h: number): unknown;
  /** Overwrites accumulator `h` with what `exportAcc` returned. */
  importAcc(h: number, data: unknown): void;
  /** True when the aggregator can take columnar rows without materialising objects. */
  readonly columnar: boolean;
}

/** Accumulators as `stride` doubles each in one growing Float64Array. */
export class PackedArena<In, Out> implements AccArena<In, Out> {
  s: Float64Array;
  readonly stride: number;
  private free: number[] = [];
  private top = 0;
  readonly columnar = true;

  constructor(readonly p: PackedAggregator<In, Out>, capacity = 1024) {
    this.stride = p.stride;
    this.s = new Float64Array(capacity * p.stride);
  }

  alloc(): number {
    let h = this.free.pop();
    if (h === undefined) {
      h = this.top++;
      if ((h + 1) * this.stride > this.s.length) {
        const grown = new Float64Array(this.s.length * 2);
        grown.set(this.s);
        this.s = grown;
      }
    }
    this.p.init(this.s, h * this.stride);
    return h;
  }

  release(h: number): void {
    this.free.push(h);
  }

  add(h: number, event: In, seq: number): void {
    this.p.add(this.s, h * this.stride, event, seq);
  }

  addColumns(h: number, columns: ColumnsLike, row: number, seq: number): void {
    this.p.addColumns(this.s, h * this.stride, columns, row, seq);
  }

  merge(into: number, from: number): void {
    this.p.merge(this.s, into * this.stride, from * this.stride);
  }

  result(h: number, window: WindowRef): Out {
    return this.p.result(this.s, h * this.stride, window);
  }

  exportAcc(h: number): Float64Array {
    return this.s.slice(h * this.stride, (h + 1) * this.stride);
  }

  importAcc(h: number, data: unknown): void {
    if (!(data instanceof Float64Array) || data.length !== this.stride) {
      throw new TickflowError('CHECKPOINT_FAILED', `a checkpointed accumulator must be a Float64Array of ${this.stride} numbers (was the aggregator changed?)`);
    }
    this.s.set(data, h * this.stride);
  }
}

/** Accumulators as the aggregator's own objects, in an array. */
export class ObjectArena<In, Acc, Out> implements AccArena<In, Out> {
  private accs: Acc[] = [];
  private free: number[] = [];
  readonly columnar: boolean;
  private readonly canReset: boolean;

  constructor(private readonly agg: Aggregator<In, Acc, Out>) {
    this.columnar = typeof agg.addColumns === 'function';
    this.canReset = typeof agg.reset === 'function';
  }

  alloc(): number {
    const h = this.free.pop();
    if (h === undefined) {
      this.accs.push(this.agg.create());
      return this.accs.length - 1;
    }
    if (this.canReset) this.agg.reset!(this.accs[h]!);
    else this.accs[h] = this.agg.create();
    return h;
  }

  release(h: number): void {
    this.free.push(h);
  }

  add(h: number, event: In, seq: number): void {
    this.agg.add(this.accs[h]!, event, seq);
  }

  addColumns(h: number, columns: ColumnsLike, row: number, seq: number): void {
    this.agg.addColumns!(this.accs[h]!, columns, row, seq);
  }

  merge(into: number, from: number): void {
    this.agg.merge(this.accs[into]!, this.accs[from]!);
  }

  result(h: number, window: WindowRef): Out {
    return this.agg.result(this.accs[h]!, window);
  }

  exportAcc(h: number): unknown {
    if (this.agg.encode === undefined) throw new TickflowError('CHECKPOINT_FAILED', `aggregator ${this.agg.name} cannot be checkpointed: give it encode/decode (or a packed layout)`);
    return this.agg.encode(this.accs[h]!);
  }

  importAcc(h: number, data: unknown): void {
    if (this.agg.decode === undefined) throw new TickflowError('CHECKPOINT_FAILED', `aggregator ${this.agg.name} cannot be restored from a checkpoint: give it encode/decode (or a packed layout)`);
    this.agg.decode(this.accs[h]!, data);
  }
}

/** The arena an aggregator wants: packed when it offers a packed layout. */
export function arenaFor<In, Acc, Out>(agg: Aggregator<In, Acc, Out>): AccArena<In, Out> {
  return agg.packed !== undefined ? new PackedArena(agg.packed) : new ObjectArena(agg);
}
