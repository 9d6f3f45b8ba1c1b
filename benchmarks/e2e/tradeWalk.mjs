// The trades of the e2e benchmarks (producer.mjs at a rate, drain.mjs as a backlog): one seeded
// random walk per symbol, so every run publishes the same prices, sizes and sides.

/** `n` symbol names: SYM0001, SYM0002, … */
export const symbolNames = (n) => Array.from({ length: n }, (_, i) => `SYM${String(i + 1).padStart(4, '0')}`);

/**
 * A seeded random walk over `symbols` (xorshift32): each call returns the next trade's symbol,
 * price (±0.10 steps, cents, at least 1), size (1–100) and side; the caller adds `ts` and `id`.
 */
export function tradeWalk(symbols, seed = 0x2545f491) {
  let s = seed;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const prices = symbols.map((_, i) => 50 + i);
  return () => {
    const k = Math.floor(rnd() * symbols.length);
    prices[k] = Math.max(1, Math.round((prices[k] + (rnd() - 0.5) * 0.2) * 100) / 100);
    return { symbol: symbols[k], price: prices[k], size: 1 + Math.floor(rnd() * 100), side: rnd() < 0.5 ? 'buy' : 'sell' };
  };
}
