import type { Trade } from '@tickflow/core';

/** What the oracle returns per emitted interval (the fields of CorrelationMatrix, values as nested arrays). */
export interface OracleMatrix {
  start: number;
  end: number;
  symbols: string[];
  counts: number[];
  values: number[][];
}

/**
 * Brute-force definition of `correlation()` for trades that are all on time,
 * given in arrival order: closes per symbol and interval (latest event time,
 * later arrival on ties), the intervals in which anything traded as the time
 * axis, prices carried forward, log returns, then for each interval and pair
 * a two-pass Pearson over the common returns in the last `lookback` steps.
 */
export function correlationOracle(trades: readonly Trade[], opts: { interval: number; lookback: number; minReturns?: number }): OracleMatrix[] {
  const { interval, lookback } = opts;
  const minReturns = opts.minReturns ?? 2;
  const closes = new Map<number, Map<string, { price: number; ts: number }>>();
  for (const t of trades) {
    const start = Math.floor(t.ts / interval) * interval;
    let m = closes.get(start);
    if (m === undefined) closes.set(start, (m = new Map()));
    const prev = m.get(t.symbol);
    if (prev === undefined || t.ts >= prev.ts) m.set(t.symbol, { price: t.price, ts: t.ts });
  }
  const active = [...closes.keys()].sort((a, b) => a - b);
  const last = new Map<string, number>();
  /** returns.get(symbol)[step], undefined where the symbol has none. */
  const returns = new Map<string, (number | undefined)[]>();
  const out: OracleMatrix[] = [];
  active.forEach((start, m) => {
    const here = closes.get(start)!;
    for (const [sym, price] of last) {
      const c = here.get(sym);
      const r = c === undefined ? 0 : Math.log(c.price / price);
      returns.get(sym)![m] = r;
    }
    for (const [sym, c] of here) {
      if (!returns.has(sym)) returns.set(sym, []);
      last.set(sym, c.price);
    }
    const symbols = [...returns.keys()].filter((s) => returns.get(s)![m] !== undefined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (symbols.length === 0) return;
    const window = (s: string): (number | undefined)[] => {
      const r = returns.get(s)!;
      const w: (number | undefined)[] = [];
      for (let t = Math.max(0, m - lookback + 1); t <= m; t++) w.push(r[t]);
      return w;
    };
    const counts = symbols.map((s) => window(s).filter((x) => x !== undefined).length);
    const values = symbols.map((a) =>
      symbols.map((b) => {
        const wa = window(a);
        const wb = window(b);
        const xs: number[] = [];
        const ys: number[] = [];
        for (let k = 0; k < wa.length; k++) {
          if (wa[k] !== undefined && wb[k] !== undefined) {
            xs.push(wa[k]!);
            ys.push(wb[k]!);
          }
        }
        return twoPassPearson(xs, ys, minReturns);
      }),
    );
    out.push({ start, end: start + interval, symbols, counts, values });
  });
  return out;
}

/** Pearson's r by the two-pass formula; NaN below `minReturns` pairs or when a series is constant. */
export function twoPassPearson(xs: readonly number[], ys: readonly number[], minReturns = 2): number {
  const n = xs.length;
  if (n < minReturns || n < 2) return Number.NaN;
  if (xs.every((x) => x === xs[0]) || ys.every((y) => y === ys[0])) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let vx = 0;
  let vy = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    vx += dx * dx;
    vy += dy * dy;
    c += dx * dy;
  }
  return c / Math.sqrt(vx * vy);
}
