import { describe, expect, it } from 'vitest';
import { MarketSimulator, intradayVolumeFactor } from './marketSimulator.js';
import { syntheticTrades } from './syntheticFeed.js';
import { collect, pipeline } from '../index.js';
import type { Trade } from '../events/trade.js';

describe('MarketSimulator startPrices', () => {
  it('starts the listed symbols at the given prices and keeps the seeded sequence otherwise', () => {
    const plain = new MarketSimulator({ seed: 9, symbols: 4 });
    const seeded = plain.prices();
    const resumed = new MarketSimulator({ seed: 9, symbols: 4, startPrices: { SYM0002: 123.45, SYM0004: 0.5 } });
    expect(resumed.prices()).toEqual({ ...seeded, SYM0002: 123.45, SYM0004: 0.5 });
    const b = Array.from({ length: 2000 }, () => resumed.nextTrade());
    expect(new Set(b.map((t) => t.symbol))).toEqual(new Set(['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004']));
    // The first trade of a resumed symbol is one step from its start price (and a sub-dollar price gets 4 decimals).
    const first2 = b.find((t) => t.symbol === 'SYM0002')!;
    expect(Math.abs(first2.price / 123.45 - 1)).toBeLessThan(0.01);
    const first4 = b.find((t) => t.symbol === 'SYM0004')!;
    expect(Math.abs(first4.price / 0.5 - 1)).toBeLessThan(0.01);
  });

  it('reports the last traded prices, which resume the market where it stopped', () => {
    const m = new MarketSimulator({ seed: 2, symbols: 3 });
    const trades = Array.from({ length: 500 }, () => m.nextTrade());
    const last: Record<string, number> = {};
    for (const t of trades) last[t.symbol] = t.price;
    expect(m.prices()).toEqual(last);
    const next = new MarketSimulator({ seed: 2, symbols: 3, startPrices: m.prices() });
    expect(next.prices()).toEqual(last);
  });

  it('refuses a start price that is not a positive number', () => {
    expect(() => new MarketSimulator({ startPrices: { SYM0001: -3 } })).toThrow(/startPrices/);
    expect(() => new MarketSimulator({ startPrices: { SYM0001: Number.NaN } })).toThrow(/startPrices/);
  });

  it('passes startPrices through the synthetic trade source', async () => {
    const out = collect<Trade>();
    await pipeline(syntheticTrades({ seed: 4, symbols: ['X'], count: 1, startPrices: { X: 50 } })).to(out).run();
    expect(out.values).toHaveLength(1);
    expect(Math.abs(out.values[0]!.price / 50 - 1)).toBeLessThan(0.01);
  });
});

describe('intraday volume shape', () => {
  it('is a U over the UTC day: 4× the midday factor at the ends, averaging 1', () => {
    const day = Date.UTC(2026, 0, 5);
    expect(intradayVolumeFactor(day)).toBeCloseTo(2);
    expect(intradayVolumeFactor(day + 12 * 3_600_000)).toBeCloseTo(0.5);
    expect(intradayVolumeFactor(day - 1)).toBeCloseTo(2, 3);
    let sum = 0;
    for (let m = 0; m < 1440; m++) sum += intradayVolumeFactor(day + m * 60_000);
    expect(sum / 1440).toBeCloseTo(1, 2);
  });

  it('makes the hours near midnight UTC busier than midday, with round lots kept round', () => {
    const size = (hour: number) => {
      const m = new MarketSimulator({ seed: 6, symbols: 5, rate: 100, start: Date.UTC(2026, 0, 5, hour), volumeShape: 'intraday' });
      const trades = Array.from({ length: 4000 }, () => m.nextTrade());
      expect(trades.filter((t) => t.size % 100 === 0).length / trades.length).toBeGreaterThan(0.6);
      return trades.reduce((a, t) => a + t.size, 0);
    };
    const open = size(0);
    const noon = size(12);
    expect(open / noon).toBeGreaterThan(2.5);
    // Flat by default: the same seed makes the same sizes at any hour.
    const flat = (hour: number) => {
      const m = new MarketSimulator({ seed: 6, symbols: 5, rate: 100, start: Date.UTC(2026, 0, 5, hour) });
      return Array.from({ length: 4000 }, () => m.nextTrade().size);
    };
    expect(flat(0)).toEqual(flat(12));
  });
});
