// Deterministic synthetic trades in fixed-size chunks: the same seed gives
// the same trades in every process. Buffers are reused, so generating 10 M
// trades costs the memory of one chunk. Event time advances 0.1 ms per trade
// (10 000 trades/s of market time; unique timestamps, so every engine agrees
// on open/close), symbols are drawn uniformly (the worst case for caches).
import { TradeColumnsBuilder } from '@tickflow/core';

export const CHUNK = 65_536;
export const T0 = Date.UTC(2024, 0, 19, 14, 30, 0);

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class TradeGenerator {
  /** stepMs: event time between trades (default 0.1 ms, 10 000 trades/s of market time). */
  constructor(symbolCount, seed = 1, stepMs = 0.1) {
    this.rnd = mulberry32(seed);
    // Divide by trades per ms (not multiply by the step): i / 10 is exact where i * 0.1 is not.
    this.perMs = 1 / stepMs;
    this.symbols = Array.from({ length: symbolCount }, (_, i) => `S${String(i).padStart(5, '0')}`);
    this.prices = new Float64Array(symbolCount).map(() => 20 + Math.floor(this.rnd() * 50_000) / 100);
    this.i = 0;
    this.objects = Array.from({ length: CHUNK }, () => ({ symbol: '', ts: 0, price: 0, size: 0, side: 'buy' }));
    this.columns = new TradeColumnsBuilder(CHUNK);
    for (const s of this.symbols) this.columns.symbolId(s);
  }

  /** Fills the next `n` trades into the reused object array and columns; returns n. */
  next(n = CHUNK) {
    const { rnd, symbols, prices, objects, columns } = this;
    columns.reset();
    const count = symbols.length;
    for (let k = 0; k < n; k++) {
      const id = Math.floor(rnd() * count);
      const step = rnd();
      let p = prices[id] + (step < 0.5 ? -0.01 : 0.01);
      if (p < 1) p = 1;
      p = Math.round(p * 100) / 100;
      prices[id] = p;
      const size = 1 + Math.floor(rnd() * 100);
      const buy = step >= 0.5;
      const ts = T0 + this.i / this.perMs;
      this.i++;
      const o = objects[k];
      o.symbol = symbols[id];
      o.ts = ts;
      o.price = p;
      o.size = size;
      o.side = buy ? 'buy' : 'sell';
      columns.addRow(id, ts, p, size, buy ? 1 : 2);
    }
    return n;
  }
}

/**
 * Order-independent fingerprint of a set of candles over the fields every
 * engine computes exactly (OHLC are input prices; volume and counts are sums
 * of integers): equal fingerprints mean equal candles.
 */
export function fingerprint(candles) {
  const rows = candles.map((c) => `${c.symbol}|${c.start}|${c.open}|${c.high}|${c.low}|${c.close}|${c.volume}|${c.trades}`).sort();
  let h = 2166136261;
  for (const r of rows) for (let i = 0; i < r.length; i++) h = Math.imul(h ^ r.charCodeAt(i), 16777619);
  return `${rows.length}:${(h >>> 0).toString(16)}`;
}
