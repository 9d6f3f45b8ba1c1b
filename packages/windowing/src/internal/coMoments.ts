/**
 * Co-moments of a paired sample (x, y) in Welford's form: the count, both
 * means, the sums of squared deviations from the means (m2x, m2y) and the sum
 * of co-deviations (cxy). Updating the means first and the deviation sums
 * from them avoids the cancellation of the textbook Σxy − ΣxΣy/n, so the
 * result stays accurate however large the mean is against the spread.
 *
 * The same five numbers live packed in a Float64Array for the correlation
 * operator (one slot per pair of symbols, see `PAIR_STRIDE`); the `CoMoments`
 * class of correlation.ts is the same arithmetic on fields, with `merge`.
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
