/**
 * Co-moments of a paired sample (x, y) in Welford's form: the count, both
 * means, the sums of squared deviations from the means (m2x, m2y) and the sum
 * of co-deviations (cxy). Updating the means first and the deviation sums
 * from them avoids the cancellation of the textbook Σxy − ΣxΣy/n, so the
 * result stays accurate however large the mean is against the spread.
 *
 * The five numbers live packed in a Float64Array (one slot per pair of symbols
 * in the correlation operator, see `PAIR_STRIDE`); the `CoMoments` class below
 * is a view of one slot, so the arithmetic is written once.
 */

/** Doubles per pair in a packed co-moment array: meanX, meanY, m2x, m2y, cxy (the count is known to the caller). */
export const PAIR_STRIDE = 5;

const MX = 0;
const MY = 1;
/** Offsets of the deviation sums in a packed pair. */
export const M2X = 2;
export const M2Y = 3;
export const CXY = 4;

/** Adds (x, y) to the packed co-moments at `b`, whose sample held `n` pairs before. */
export function addPair(s: Float64Array, b: number, n: number, x: number, y: number): void {
  const n1 = n + 1;
  const dx = x - s[b + MX]!;
  const mx = s[b + MX]! + dx / n1;
  const dy = y - s[b + MY]!;
  const my = s[b + MY]! + dy / n1;
  s[b + MX] = mx;
  s[b + MY] = my;
  s[b + M2X]! += dx * (x - mx);
  s[b + M2Y]! += dy * (y - my);
  s[b + CXY]! += dx * (y - my);
}

/**
 * Removes (x, y), which must be in the sample, from the packed co-moments at
 * `b` whose sample holds `n` pairs: the exact inverse of `addPair` (Welford
 * run backwards). Rounding errors of repeated removals add up, so callers
 * rebuild from the raw values now and then (see correlation.ts).
 */
export function removePair(s: Float64Array, b: number, n: number, x: number, y: number): void {
  if (n <= 1) {
    clearPair(s, b);
    return;
  }
  const n1 = n - 1;
  const mx = s[b + MX]!;
  const my = s[b + MY]!;
  // The means without (x, y); then undo `addPair`'s increments, which used them.
  const mxOld = mx - (x - mx) / n1;
  const myOld = my - (y - my) / n1;
  s[b + MX] = mxOld;
  s[b + MY] = myOld;
  const m2x = s[b + M2X]! - (x - mxOld) * (x - mx);
  const m2y = s[b + M2Y]! - (y - myOld) * (y - my);
  s[b + M2X] = m2x > 0 ? m2x : 0;
  s[b + M2Y] = m2y > 0 ? m2y : 0;
  s[b + CXY]! -= (x - mxOld) * (y - my);
}

/** Empties the packed co-moments at `b`. */
export function clearPair(s: Float64Array, b: number): void {
  s[b + MX] = 0;
  s[b + MY] = 0;
  s[b + M2X] = 0;
  s[b + M2Y] = 0;
  s[b + CXY] = 0;
}

/** Pearson's r from the deviation sums, NaN without spread, clamped to [−1, 1]. */
export function correlationOf(m2x: number, m2y: number, cxy: number): number {
  if (!(m2x > 0) || !(m2y > 0)) return Number.NaN;
  const r = cxy / Math.sqrt(m2x * m2y);
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

/**
 * Merges the packed co-moments at `fb` of `from` (a sample of `fn` pairs) into
 * those at `b` of `s` (a disjoint sample of `n` pairs), exactly as if the pairs
 * had been added one by one (Chan, Golub and LeVeque's pairwise update).
 */
export function mergePair(s: Float64Array, b: number, n: number, from: Float64Array, fb: number, fn: number): void {
  if (fn === 0) return;
  if (n === 0) {
    for (let i = 0; i < PAIR_STRIDE; i++) s[b + i] = from[fb + i]!;
    return;
  }
  const total = n + fn;
  const dx = from[fb + MX]! - s[b + MX]!;
  const dy = from[fb + MY]! - s[b + MY]!;
  const w = (n * fn) / total;
  s[b + MX]! += (dx * fn) / total;
  s[b + MY]! += (dy * fn) / total;
  s[b + M2X]! += from[fb + M2X]! + dx * dx * w;
  s[b + M2Y]! += from[fb + M2Y]! + dy * dy * w;
  s[b + CXY]! += from[fb + CXY]! + dx * dy * w;
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
  private readonly s = new Float64Array(PAIR_STRIDE);

  get meanX(): number {
    return this.s[MX]!;
  }

  get meanY(): number {
    return this.s[MY]!;
  }

  /** Σ (x − meanX)². */
  get m2x(): number {
    return this.s[M2X]!;
  }

  /** Σ (y − meanY)². */
  get m2y(): number {
    return this.s[M2Y]!;
  }

  /** Σ (x − meanX)(y − meanY). */
  get cxy(): number {
    return this.s[CXY]!;
  }

  /** Adds one pair. */
  add(x: number, y: number): void {
    addPair(this.s, 0, this.n, x, y);
    this.n++;
  }

  /** Removes a pair that was added before (Welford backwards). */
  remove(x: number, y: number): void {
    removePair(this.s, 0, this.n, x, y);
    this.n = this.n <= 1 ? 0 : this.n - 1;
  }

  /** Merges another sample's co-moments into this one (`from` is unchanged). */
  merge(from: CoMoments): void {
    mergePair(this.s, 0, this.n, from.s, 0, from.n);
    this.n += from.n;
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
