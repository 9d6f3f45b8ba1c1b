import type { BuildContext, WatermarkTracker } from '@tickflow/core/extend';
import { TickflowError } from '@tickflow/core';
import { Stage } from '@tickflow/core/extend';
import type { CorrelationInput, CorrelationMatrix } from '../correlation.js';
import { M2X, M2Y, CXY, PAIR_STRIDE, addPair, clearPair, correlationOf, removePair } from './coMoments.js';

/** What `correlation()` resolved from its options. */
export interface CorrelationPlan {
  readonly name: string;
  readonly interval: number;
  readonly label: string;
  readonly lookback: number;
  readonly grace: number;
  readonly minReturns: number;
  readonly maxSymbols: number;
}

/** Closes of one interval not yet emitted, per symbol id. */
class PendingInterval {
  price: Float64Array;
  ts: Float64Array;
  readonly touched: number[] = [];
  constructor(readonly start: number, cap: number) {
    this.price = new Float64Array(cap);
    this.ts = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
  }
}

/** Side of the square blocks of pairs the matrix is built in (see `emit`). */
const TILE = 64;

/** Symbol `start` before the symbol's first price. */
const NO_RETURNS = Number.POSITIVE_INFINITY;

/** The stage behind `correlation`: pending interval closes, per-symbol return rings and packed per-pair co-moments. */
export class CorrelationStage<In> extends Stage<In, CorrelationMatrix> {
  private readonly keyOf: (e: In) => string;
  private readonly tsOf: (e: In) => number;
  private readonly tracker: WatermarkTracker;
  private readonly N: number;
  private wm = Number.NEGATIVE_INFINITY;
  private curInput = 0;
  private multi = false;
  private readonly pending = new Map<number, PendingInterval>();
  /** Intervals emitted so far (the step index of the next one). */
  private step = 0;

  // ---- symbols (ids in order of first trade) ----
  private readonly ids = new Map<string, number>();
  private names: string[] = [];
  private cap = 0;
  /** Last price (carried forward). */
  private last = new Float64Array(0);
  /** Step of the symbol's first return (the step after its first price), NO_RETURNS before that. */
  private start = new Float64Array(0);
  /** Latest step at which the symbol's return differed from the one before (constant-series test). */
  private lastChange = new Float64Array(0);
  /** Return at the current step (scratch). */
  private cur = new Float64Array(0);
  /** Return leaving the lookback at the current step (scratch). */
  private old = new Float64Array(0);
  /** Last `lookback` returns per symbol: ring[s * N + step % N]. */
  private ring = new Float64Array(0);
  /** Co-moments per pair of ids i < j at ((j(j−1)/2) + i) * PAIR_STRIDE. */
  private pairs = new Float64Array(0);
  /** Symbols in output order (cache, reset when a symbol joins). */
  private sorted: number[] | null = null;

  constructor(private readonly plan: CorrelationPlan, private readonly ctx: BuildContext) {
    super();
    this.keyOf = ctx.key!.of as (e: In) => string;
    const tsOf = ctx.timestamp;
    this.tsOf = tsOf === undefined ? (e: In) => (e as unknown as { ts: number }).ts : (tsOf as (e: In) => number);
    this.tracker = ctx.watermarks;
    this.N = plan.lookback;
  }

  push(event: In): void {
    const plan = this.plan;
    const ts = this.tsOf(event);
    const price = (event as unknown as CorrelationInput).price;
    if (!(price > 0) || !Number.isFinite(price) || !Number.isFinite(ts)) {
      this.ctx.deadLetter({ reason: `${plan.name}: a log return needs a finite price > 0 and a finite time, got price ${price} at ${ts}`, input: event, origin: plan.name });
      return;
    }
    const key = this.keyOf(event);
    const istart = Math.floor(ts / plan.interval) * plan.interval;
    const iend = istart + plan.interval;
    let wm = this.wm;
    if (this.multi) {
      const own = this.tracker.watermarkOf(this.tracker.maxOf(this.curInput));
      if (own > wm) wm = own;
    }
    if (wm >= iend + plan.grace) {
      this.ctx.late({ event, key, windowStart: istart, windowEnd: iend, watermark: wm, operator: plan.name });
      return;
    }
    let s = this.ids.get(key);
    if (s === undefined) {
      if (this.names.length >= plan.maxSymbols) {
        this.ctx.deadLetter({ reason: `${plan.name}: more than maxSymbols (${plan.maxSymbols}) symbols; ${key} is not correlated (raise maxSymbols, or filter the symbols before correlation)`, input: event, origin: plan.name });
        return;
      }
      s = this.addSymbol(key);
    }
    let p = this.pending.get(istart);
    if (p === undefined) {
      p = new PendingInterval(istart, this.cap);
      this.pending.set(istart, p);
    } else if (p.price.length < this.cap) {
      growPending(p, this.cap);
    }
    const prevTs = p.ts[s]!;
    if (prevTs === Number.NEGATIVE_INFINITY) p.touched.push(s);
    // The latest event time closes the interval; at equal times the later arrival does.
    if (ts >= prevTs) {
      p.price[s] = price;
      p.ts[s] = ts;
    }
  }

  override setInput(input: number): void {
    this.curInput = input;
    this.multi = this.tracker.inputs > 1;
    this.next.setInput(input);
  }

  override advance(watermark: number): void {
    if (watermark > this.wm) {
      this.wm = watermark;
      this.closeDue(watermark);
    }
    if (!this.next.terminal) this.next.advance(watermark);
  }

  override finish(): void {
    this.wm = Number.POSITIVE_INFINITY;
    this.closeDue(Number.POSITIVE_INFINITY);
    this.next.finish();
  }

  override snapshot(_input: number): unknown {
    if (this.names.length === 0 && this.pending.size === 0) return undefined;
    throw new TickflowError(
      'CHECKPOINT_FAILED',
      `${this.plan.name}: correlation state spans every symbol and input, so it cannot be checkpointed per partition; run correlation in a job without checkpoints (it rebuilds its lookback from the data it reads)`,
    );
  }

  /** Emits every pending interval whose end + grace the watermark has reached, oldest first. */
  private closeDue(wm: number): void {
    if (this.pending.size === 0) return;
    const grace = this.plan.grace;
    const size = this.plan.interval;
    let due: number[] | null = null;
    for (const start of this.pending.keys()) {
      if (wm >= start + size + grace) (due ??= []).push(start);
    }
    if (due === null) return;
    due.sort((a, b) => a - b);
    for (const start of due) {
      const p = this.pending.get(start)!;
      this.pending.delete(start);
      this.closeInterval(p);
    }
  }

  private addSymbol(key: string): number {
    const s = this.names.length;
    if (s === this.cap) this.growSymbols(Math.max(16, this.cap * 2));
    this.names.push(key);
    this.ids.set(key, s);
    this.start[s] = NO_RETURNS;
    this.sorted = null;
    return s;
  }

  private growSymbols(cap: number): void {
    const N = this.N;
    this.last = growF(this.last, cap);
    this.start = growF(this.start, cap);
    this.lastChange = growF(this.lastChange, cap);
    this.cur = growF(this.cur, cap);
    this.old = growF(this.old, cap);
    const ring = new Float64Array(cap * N);
    ring.set(this.ring);
    this.ring = ring;
    const pairs = new Float64Array(((cap * (cap - 1)) / 2) * PAIR_STRIDE);
    pairs.set(this.pairs);
    this.pairs = pairs;
    this.cap = cap;
  }

  /** One step of the return series: the interval's closes become returns, every pair's co-moments slide, a row is emitted. */
  private closeInterval(p: PendingInterval): void {
    const m = this.step++;
    const N = this.N;
    const S = this.names.length;
    const last = this.last;
    const start = this.start;
    const cur = this.cur;
    const lastChange = this.lastChange;
    const ring = this.ring;
    const slot = m % N;
    // Returns at step m (0 for a symbol that did not trade: its price is carried forward).
    for (let s = 0; s < S; s++) cur[s] = 0;
    const touched = p.touched;
    for (let t = 0; t < touched.length; t++) {
      const s = touched[t]!;
      const close = p.price[s]!;
      if (start[s] === NO_RETURNS) start[s] = m + 1;
      else cur[s] = Math.log(close / last[s]!);
      last[s] = close;
    }
    for (let s = 0; s < S; s++) {
      const st = start[s]!;
      if (st > m) continue;
      if (st === m) lastChange[s] = m;
      else if (cur[s] !== ring[s * N + ((m - 1) % N)]) lastChange[s] = m;
    }
    // The returns leaving the lookback (step m − N), gathered so the pair loop reads them contiguously.
    const old = this.old;
    for (let s = 0; s < S; s++) old[s] = ring[s * N + slot]!;
    // Slide every pair whose two symbols both have a return at m.
    const pairs = this.pairs;
    for (let j = 1; j < S; j++) {
      const sj = start[j]!;
      if (sj > m) continue;
      const y = cur[j]!;
      const yOld = old[j]!;
      const rowBase = ((j * (j - 1)) / 2) * PAIR_STRIDE;
      for (let i = 0; i < j; i++) {
        const si = start[i]!;
        if (si > m) continue;
        const b = rowBase + i * PAIR_STRIDE;
        // Common returns before this step: the run from the later start, at most N.
        const from = si > sj ? si : sj;
        let n = m - from;
        if (n >= N) {
          removePair(pairs, b, N, old[i]!, yOld);
          n = N - 1;
        }
        addPair(pairs, b, n, cur[i]!, y);
      }
    }
    for (let s = 0; s < S; s++) if (start[s]! <= m) ring[s * N + slot] = cur[s]!;
    // Removals accumulate rounding; a fresh pass over the kept returns every N steps bounds it.
    if (slot === N - 1) this.rebuild(m);
    this.emit(m, p.start);
  }

  /** Recomputes every pair's co-moments from the return rings (forward Welford, oldest first). */
  private rebuild(m: number): void {
    const N = this.N;
    const S = this.names.length;
    const start = this.start;
    const ring = this.ring;
    const pairs = this.pairs;
    for (let j = 1; j < S; j++) {
      const sj = start[j]!;
      if (sj > m) continue;
      const rowBase = ((j * (j - 1)) / 2) * PAIR_STRIDE;
      for (let i = 0; i < j; i++) {
        const si = start[i]!;
        if (si > m) continue;
        const b = rowBase + i * PAIR_STRIDE;
        clearPair(pairs, b);
        const from = Math.max(si, sj, m - N + 1);
        for (let t = from, n = 0; t <= m; t++, n++) addPair(pairs, b, n, ring[i * N + (t % N)]!, ring[j * N + (t % N)]!);
      }
    }
  }

  private emit(m: number, istart: number): void {
    const plan = this.plan;
    const N = this.N;
    let order = this.sorted;
    if (order === null) {
      const names = this.names;
      order = names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
      this.sorted = order;
    }
    const start = this.start;
    const lastChange = this.lastChange;
    const S = this.names.length;
    let n = 0;
    for (let k = 0; k < order.length; k++) if (start[order[k]!]! <= m) n++;
    if (n === 0) return;
    /** Output position of each symbol id (−1: no return yet), and per id its returns in the lookback. */
    const pos = new Int32Array(S).fill(-1);
    const ids = new Int32Array(n);
    const cnt = new Int32Array(n);
    const cntOf = new Float64Array(S);
    for (let k = 0, a = 0; k < order.length; k++) {
      const id = order[k]!;
      if (start[id]! > m) continue;
      ids[a] = id;
      pos[id] = a;
      cnt[a] = Math.min(N, m - start[id]! + 1);
      cntOf[id] = cnt[a]!;
      a++;
    }
    const values = new Float64Array(n * n);
    const minReturns = plan.minReturns;
    const pairs = this.pairs;
    for (let a = 0; a < n; a++) {
      const ca = cnt[a]!;
      values[a * n + a] = ca >= minReturns && lastChange[ids[a]!]! > m - ca + 1 ? 1 : Number.NaN;
    }
    // Pairs in tiles of TILE × TILE ids: the packed co-moments are read in memory order and
    // both mirrored writes stay within TILE rows of the matrix (a plain row loop misses the
    // cache on every pair at 500 symbols).
    for (let j0 = 0; j0 < S; j0 += TILE) {
      const j1 = Math.min(S, j0 + TILE);
      for (let i0 = 0; i0 < j1; i0 += TILE) {
        for (let j = Math.max(j0, i0 + 1); j < j1; j++) {
          const pj = pos[j]!;
          if (pj < 0) continue;
          const cj = cntOf[j]!;
          const changedJ = lastChange[j]!;
          const rowBase = ((j * (j - 1)) / 2) * PAIR_STRIDE;
          const iEnd = Math.min(i0 + TILE, j);
          for (let i = i0; i < iEnd; i++) {
            const pi = pos[i]!;
            if (pi < 0) continue;
            const ci = cntOf[i]!;
            const common = ci < cj ? ci : cj;
            const first = m - common + 1;
            let r = Number.NaN;
            // A series constant over the sample has no spread: r is undefined (decided exactly, not from rounded moments).
            if (common >= minReturns && changedJ > first && lastChange[i]! > first) {
              const b = rowBase + i * PAIR_STRIDE;
              r = correlationOf(pairs[b + M2X]!, pairs[b + M2Y]!, pairs[b + CXY]!);
            }
            values[pj * n + pi] = r;
            values[pi * n + pj] = r;
          }
        }
      }
    }
    const counts = Array.from(cnt);
    const symbols = Array.from(ids, (i) => this.names[i]!);
    this.next.push({ interval: plan.label, lookback: N, start: istart, end: istart + plan.interval, symbols, counts, values });
  }
}

function growF(a: Float64Array, cap: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}

function growPending(p: PendingInterval, cap: number): void {
  const price = new Float64Array(cap);
  price.set(p.price);
  const ts = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
  ts.set(p.ts);
  p.price = price;
  p.ts = ts;
}
