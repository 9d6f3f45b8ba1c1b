import type { Trade } from '@tickflow/core';

/**
 * Brute-force Pearson r of log returns between two symbols, as `correlation()`
 * defines it, from raw trades: each symbol's close per interval (latest event
 * time, later arrival on ties), carried forward; intervals in which nothing
 * traded skipped; returns from the interval after a symbol's first trade;
 * the pair's sample is the last min(returns of a, returns of b, lookback)
 * intervals up to `end`. Independent of the operator's Welford state.
 */
export function pearsonOfTrades(trades: readonly Trade[], a: string, b: string, o: { interval: number; lookback: number; end: number }): { r: number; returns: number } {
  const closes = new Map<string, Map<number, { ts: number; price: number }>>();
  const steps = new Set<number>();
  for (const t of trades) {
    if (t.ts >= o.end) continue;
    const k = Math.floor(t.ts / o.interval);
    steps.add(k);
    let m = closes.get(t.symbol);
    if (m === undefined) closes.set(t.symbol, (m = new Map()));
    const held = m.get(k);
    if (held === undefined || t.ts >= held.ts) m.set(k, { ts: t.ts, price: t.price });
  }
  const order = [...steps].sort((x, y) => x - y);
  const returns = (s: string): (number | undefined)[] => {
    const m = closes.get(s) ?? new Map();
    const out: (number | undefined)[] = [];
    let last: number | undefined;
    for (const k of order) {
      const c = m.get(k);
      if (last === undefined) out.push(undefined);
      else out.push(c === undefined ? 0 : Math.log(c.price / last));
      if (c !== undefined) last = c.price;
    }
    return out;
  };
  const ra = returns(a);
  const rb = returns(b);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = order.length - 1; i >= 0 && xs.length < o.lookback; i--) {
    if (ra[i] === undefined || rb[i] === undefined) break;
    xs.push(ra[i]!);
    ys.push(rb[i]!);
  }
  const n = xs.length;
  if (n < 2) return { r: Number.NaN, returns: n };
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return { r: sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy), returns: n };
}
