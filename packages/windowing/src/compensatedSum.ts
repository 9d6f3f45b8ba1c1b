/**
 * A compensated (double-double) running sum: `hi + lo` holds the sum with
 * about 106 bits, each addition is error-free (Knuth's TwoSum). Rounded once,
 * `value()` is the correctly rounded exact sum for realistic market data, so a
 * sum computed in any order or grouping (rollups, merges) gives the same
 * double. Hot aggregators inline the same arithmetic on plain fields.
 */
export class CompensatedSum {
  hi = 0;
  lo = 0;

  /** Adds one value. */
  add(x: number): void {
    const s = this.hi + x;
    const bp = s - this.hi;
    this.lo += this.hi - (s - bp) + (x - bp);
    this.hi = s;
  }

  /** Adds another sum. */
  addSum(other: CompensatedSum): void {
    this.add(other.hi);
    this.lo += other.lo;
  }

  /** The sum, rounded to a double. */
  value(): number {
    return this.hi + this.lo;
  }
}


/**
 * The same TwoSum step on a packed sum: `s[o]` holds hi, `s[o + 1]` lo. The
 * packed aggregators call this (V8 inlines it), so the arithmetic is written once.
 */
export function addToPackedSum(s: Float64Array, o: number, x: number): void {
  const hi = s[o]!;
  const sum = hi + x;
  const bp = sum - hi;
  s[o + 1]! += hi - (sum - bp) + (x - bp);
  s[o] = sum;
}
