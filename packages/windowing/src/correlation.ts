import type { Duration, Keyed, Operator } from '@tickflow/core';
import type { BuildContext, WatermarkTracker } from '@tickflow/core/extend';
import { DurationSchema, TickflowError, formatDuration, parseDuration } from '@tickflow/core';
import { Stage } from '@tickflow/core/extend';
import { z } from 'zod';
import { M2X, M2Y, CXY, PAIR_STRIDE, addPair, clearPair, correlationOf, removePair } from './internal/coMoments.js';
import { checkOptions, parseSize } from './windowOptions.js';

/** What the correlation operator reads from an event: its event time and price. */
export interface CorrelationInput {
  readonly ts: number;
  readonly price: number;
}

/**
 * One row of `correlation()`: Pearson's r of log returns between every two
 * symbols over the last `lookback` return intervals, as of the close of the
 * interval [start, end).
 */
export interface CorrelationMatrix {
  /** The return interval, e.g. `'1m'`. */
  readonly interval: string;
  /** The most returns each pair's sample holds. */
  readonly lookback: number;
  /** Start of the interval whose close is the last price of the returns (UTC epoch ms). */
  readonly start: number;
  /** Its exclusive end. */
  readonly end: number;
  /** Symbols with at least one return in the lookback, sorted (UTF-16 code unit order). */
  readonly symbols: readonly string[];
  /**
   * Returns of each symbol in the lookback. Every symbol's returns are one
   * unbroken run up to `end`, so a pair's sample is the last
   * `min(counts[i], counts[j])` intervals.
   */
  readonly counts: readonly number[];
  /**
   * `symbols.length²` correlations, row-major and symmetric: `values[i * n + j]`
   * is r of symbols i and j. NaN where undefined: a sample below `minReturns`
   * or a series that is constant over it. The diagonal is 1 (NaN when undefined).
   */
  readonly values: Float64Array;
}

/** Options of `correlation`. */
export interface CorrelationOptions {
  /** Return interval: returns are taken between the closes of consecutive intervals, aligned to the UTC epoch. Default `'1m'`. */
  readonly interval?: Duration;
  /** How many of the latest returns each correlation uses, e.g. 60 or 390 (a trading day of 1m returns). */
  readonly lookback: number;
  /** How long after its end an interval still accepts late trades; its row is emitted after that. Default 0. */
  readonly grace?: Duration;
  /** Pairs with fewer common returns are NaN. Default 2 (the least that defines r). */
  readonly minReturns?: number;
  /** Trades of symbols beyond this many go to the dead-letter output (the state grows with the square of the symbols). Default 2000. */
  readonly maxSymbols?: number;
  /** Operator name in late events, dead letters and errors. Default `'correlation'`. */
  readonly name?: string;
}

const CorrelationOptionsSchema = z
  .object({
    interval: DurationSchema.optional(),
    lookback: z.number().int().min(2).max(1_000_000),
    grace: DurationSchema.optional(),
    minReturns: z.number().int().min(2).optional(),
    maxSymbols: z.number().int().min(2).max(20_000).optional(),
    name: z.string().min(1).optional(),
  })
  .strict();

/**
 * Rolling cross-asset correlation: Pearson's r of log returns between every
 * two symbols of a keyed trade stream, over the last `lookback` returns, one
 * matrix per return interval.
 *
 * Each symbol's price at an interval is its close there (the price of its
 * latest trade by event time; ties go to the later arrival, as for candles),
 * carried forward through intervals in which it did not trade (a zero
 * return). Intervals in which nothing traded at all (nights, weekends) are
 * skipped, so they add no run of zeros. A symbol's returns start at the
 * interval after its first trade.
 *
 * A row is emitted when the watermark passes an interval's end + grace; a
 * trade for an interval already emitted goes to the `late` output. The
 * co-moments of every pair are updated in place (Welford's update, with the
 * oldest return removed by running it backwards, and rebuilt from the kept
 * returns every `lookback` intervals so rounding cannot drift): O(symbols²)
 * work and memory per interval.
 *
 * The state spans all symbols, so it cannot be checkpointed per Kafka
 * partition: `Job.snapshot` of a job holding this state throws.
 *
 * @example
 * ```ts
 * pipeline(fromArray(trades), { outOfOrderness: '2s' })
 *   .pipe(keyBy('symbol'), correlation({ interval: '1m', lookback: 60 }))
 *   .to((m) => console.log(m.end, m.symbols, m.values));
 * ```
 * @see {@link correlationPairs}
 */
export function correlation<T extends CorrelationInput>(options: CorrelationOptions): Operator<Keyed<string, T>, CorrelationMatrix, T> {
  const o = checkOptions(CorrelationOptionsSchema, options, 'correlation');
  const interval = parseSize((o.interval ?? '1m') as Duration, 'correlation interval');
  const grace = o.grace === undefined ? 0 : parseDuration(o.grace as Duration, 'correlation grace');
  const name = o.name ?? 'correlation';
  const plan: CorrelationPlan = { name, interval, label: formatDuration(interval), lookback: o.lookback, grace, minReturns: o.minReturns ?? 2, maxSymbols: o.maxSymbols ?? 2000 };
  return {
    name,
    build(ctx) {
      if (ctx.key === undefined) {
        throw new TickflowError('PIPELINE_STATE', `${name}: correlation needs a stream keyed by symbol; add keyBy('symbol') before ${name}()`);
      }
      return new CorrelationStage<Keyed<string, T>>(plan, ctx) as Stage<Keyed<string, T>, CorrelationMatrix>;
    },
  };
}

/** One pair of a CorrelationMatrix (see `correlationPairs`). */
export interface CorrelationPair {
  readonly a: string;
  readonly b: string;
  /** Pearson's r, NaN when undefined. */
  readonly value: number;
  /** Returns in the pair's sample. */
  readonly returns: number;
}

/**
 * The pairs of a matrix above its diagonal (a < b in `symbols` order), for
 * stores and wire formats that want one row per pair.
 *
 * @example
 * ```ts
 * for (const p of correlationPairs(matrix)) console.log(p.a, p.b, p.value);
 * ```
 */
export function* correlationPairs(m: CorrelationMatrix): Generator<CorrelationPair> {
  const n = m.symbols.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      yield { a: m.symbols[i]!, b: m.symbols[j]!, value: m.values[i * n + j]!, returns: Math.min(m.counts[i]!, m.counts[j]!) };
    }
  }
}

interface CorrelationPlan {
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
class CorrelationStage<In> extends Stage<In, CorrelationMatrix> {
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

/**
 * Welford co-moments of a paired sample, mergeable: `merge` combines two
 * disjoint samples' moments exactly as if the pairs had been added one by one
 * (Chan, Golub and LeVeque's pairwise update), so partial results of
 * separate windows or partitions combine without the raw data.
 *
 * @example
 * ```ts
 * const a = new CoMoments(); a.add(0.01, 0.02); a.add(-0.01, -0.03);
 * const b = new CoMoments(); b.add(0.005, 0.001);
 * a.merge(b);
 * a.correlation(); // Pearson's r of the three pairs
 * ```
 */
export class CoMoments {
  /** Number of pairs. */
  n = 0;
  meanX = 0;
  meanY = 0;
  /** Σ (x − meanX)². */
  m2x = 0;
  /** Σ (y − meanY)². */
  m2y = 0;
  /** Σ (x − meanX)(y − meanY). */
  cxy = 0;

  /** Adds one pair. */
  add(x: number, y: number): void {
    const n1 = this.n + 1;
    const dx = x - this.meanX;
    this.meanX += dx / n1;
    const dy = y - this.meanY;
    this.meanY += dy / n1;
    this.m2x += dx * (x - this.meanX);
    this.m2y += dy * (y - this.meanY);
    this.cxy += dx * (y - this.meanY);
    this.n = n1;
  }

  /** Removes a pair that was added before (Welford backwards). */
  remove(x: number, y: number): void {
    if (this.n <= 1) {
      this.n = 0;
      this.meanX = this.meanY = this.m2x = this.m2y = this.cxy = 0;
      return;
    }
    const n1 = this.n - 1;
    const mx = this.meanX;
    const my = this.meanY;
    const mxOld = mx - (x - mx) / n1;
    const myOld = my - (y - my) / n1;
    this.m2x = Math.max(0, this.m2x - (x - mxOld) * (x - mx));
    this.m2y = Math.max(0, this.m2y - (y - myOld) * (y - my));
    this.cxy -= (x - mxOld) * (y - my);
    this.meanX = mxOld;
    this.meanY = myOld;
    this.n = n1;
  }

  /** Merges another sample's co-moments into this one (`from` is unchanged). */
  merge(from: CoMoments): void {
    if (from.n === 0) return;
    if (this.n === 0) {
      this.n = from.n;
      this.meanX = from.meanX;
      this.meanY = from.meanY;
      this.m2x = from.m2x;
      this.m2y = from.m2y;
      this.cxy = from.cxy;
      return;
    }
    const n = this.n + from.n;
    const dx = from.meanX - this.meanX;
    const dy = from.meanY - this.meanY;
    const w = (this.n * from.n) / n;
    this.meanX += (dx * from.n) / n;
    this.meanY += (dy * from.n) / n;
    this.m2x += from.m2x + dx * dx * w;
    this.m2y += from.m2y + dy * dy * w;
    this.cxy += from.cxy + dx * dy * w;
    this.n = n;
  }

  /** Sample covariance (n − 1 in the denominator), NaN below two pairs. */
  covariance(): number {
    return this.n < 2 ? Number.NaN : this.cxy / (this.n - 1);
  }

  /** Pearson's r in [−1, 1], NaN when undefined (fewer than two pairs, or a series without spread). */
  correlation(): number {
    return this.n < 2 ? Number.NaN : correlationOf(this.m2x, this.m2y, this.cxy);
  }
}
