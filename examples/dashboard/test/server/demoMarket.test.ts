import { describe, expect, it } from 'vitest';
import { MarketSimulator } from '@tickflow/core/synthetic';

// The demo market of `tickflow serve` (20 symbols, 200 trades/s, seed 1 by
// default) must look like a market: every symbol's price moves.

describe('demo market', () => {
  it.each([1, 2, 3])('every one of 20 symbols moves several ticks within a simulated minute (seed %i)', (seed) => {
    const market = new MarketSimulator({ seed, symbols: 20, rate: 200 });
    const range = new Map<string, { lo: number; hi: number; n: number }>();
    for (let i = 0; i < 200 * 60; i++) {
      const t = market.nextTrade();
      const r = range.get(t.symbol) ?? { lo: Infinity, hi: -Infinity, n: 0 };
      r.lo = Math.min(r.lo, t.price);
      r.hi = Math.max(r.hi, t.price);
      r.n++;
      range.set(t.symbol, r);
    }
    expect(range.size).toBe(20);
    for (const [symbol, r] of range) {
      const tick = r.lo < 1 ? 0.0001 : 0.01;
      expect(Math.round((r.hi - r.lo) / tick), `${symbol}: ${r.n} trades, ${r.lo}…${r.hi}`).toBeGreaterThanOrEqual(2);
    }
  });
});
