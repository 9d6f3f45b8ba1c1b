import type { Trade } from '@tickflow/core';

const D = 86_400_000;

/**
 * The analytics tests' trades: AAA, BBB and CCC from `t0` over two and a half days (CCC stops after
 * the first), one trade each every `step` ms, up to 0.9 s late within its step, buys and sells, a
 * seeded random walk (`seed`); with `ids`, each trade has the id `t<index>`.
 */
export function analyticsTrades({ t0, seed, step, ids = false }: { t0: number; seed: number; step: number; ids?: boolean }): Trade[] {
  let s = seed;
  const rnd = () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const out: Trade[] = [];
  const price: Record<string, number> = { AAA: 100, BBB: 20, CCC: 5 };
  for (let t = t0; t < t0 + 2.5 * D; t += step) {
    for (const sym of ['AAA', 'BBB', 'CCC']) {
      if (sym === 'CCC' && t > t0 + D) continue;
      price[sym] = Math.round(price[sym]! * Math.exp((rnd() - 0.5) * 0.01) * 100) / 100;
      const trade: Trade = { symbol: sym, ts: t + Math.floor(rnd() * 900), price: price[sym]!, size: 1 + Math.floor(rnd() * 50), side: rnd() < 0.5 ? 'buy' : 'sell' };
      out.push(ids ? { ...trade, id: `t${out.length}` } : trade);
    }
  }
  return out;
}
