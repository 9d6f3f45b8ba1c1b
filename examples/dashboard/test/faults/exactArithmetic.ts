// Exact binary64 arithmetic for the oracle (oracle.ts): finite doubles as
// BigInt multiples of 2^-1074, summed exactly and rounded once, and distances
// in ulps for the comparisons (comparison.ts).
import { Sfc32 } from './sfc32.js';

const view = new DataView(new ArrayBuffer(8));
const MANT = (1n << 52n) - 1n;
const HIDDEN = 1n << 52n;

/** A finite binary64 value as an exact integer multiple of 2^-1074. */
export function toUnits(x: number): bigint {
  if (!Number.isFinite(x)) throw new Error(`toUnits: ${x} is not finite`);
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = bits & MANT;
  const u = exp === 0 ? mant : (mant | HIDDEN) << BigInt(exp - 1);
  return bits >> 63n === 1n ? -u : u;
}

function bitLength(n: bigint): number {
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** The binary64 nearest to `u` × 2^-1074 (ties to even): one rounding of an exact value. */
export function roundUnits(u: bigint): number {
  if (u === 0n) return 0;
  const neg = u < 0n;
  const n = neg ? -u : u;
  const len = bitLength(n);
  let value: number;
  if (len <= 53) {
    value = Number(n) * Number.MIN_VALUE; // exact: n < 2^53
  } else {
    let shift = len - 53;
    let q = n >> BigInt(shift);
    const r = n - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (r > half || (r === half && (q & 1n) === 1n)) q++;
    if (q === 1n << 53n) {
      q >>= 1n;
      shift++;
    }
    const biased = shift + 1;
    if (biased >= 2047) return neg ? -Infinity : Infinity;
    view.setBigUint64(0, (BigInt(biased) << 52n) | (q - HIDDEN));
    value = view.getFloat64(0);
  }
  return neg ? -value : value;
}

function ordered(x: number): bigint {
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
}

/** Distance of two finite doubles in units in the last place (0 when equal). */
export function ulpDistance(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.POSITIVE_INFINITY;
  const d = ordered(a) - ordered(b);
  return Number(d < 0n ? -d : d);
}

/** Checks the exact arithmetic against IEEE addition and division (which are correctly rounded) on random inputs. */
export function selfCheckExactArithmetic(seed = 1): void {
  const rnd = new Sfc32(seed);
  for (let i = 0; i < 20_000; i++) {
    const a = (rnd.next() - 0.5) * 10 ** rnd.int(-30, 30);
    const b = (rnd.next() - 0.5) * 10 ** rnd.int(-30, 30);
    if (roundUnits(toUnits(a)) !== a) throw new Error(`exact arithmetic: round trip of ${a} failed`);
    if (roundUnits(toUnits(a) + toUnits(b)) !== a + b) throw new Error(`exact arithmetic: ${a} + ${b} rounded to ${roundUnits(toUnits(a) + toUnits(b))}, IEEE says ${a + b}`);
  }
  for (const x of [Number.MIN_VALUE, 2 ** -1022, 2 ** -1022 - Number.MIN_VALUE, Number.MAX_VALUE, 0.1, 1 / 3]) {
    if (roundUnits(toUnits(x)) !== x) throw new Error(`exact arithmetic: round trip of ${x} failed`);
  }
  if (ulpDistance(1, 1 + Number.EPSILON) !== 1 || ulpDistance(0.3, 0.1 + 0.2) !== 1) throw new Error('ulpDistance is wrong');
}
