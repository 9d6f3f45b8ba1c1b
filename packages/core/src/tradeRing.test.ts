import fc from 'fast-check';
import type { Trade } from './events/trade.js';
import { describe, expect, it } from 'vitest';
import { TradeRing } from './tradeRing.js';

const tradeArb: fc.Arbitrary<Trade> = fc.record(
  {
    symbol: fc.constant('AAPL'),
    ts: fc.integer({ min: 0, max: 2 ** 42 }),
    price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    size: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    id: fc.string({ maxLength: 20 }),
    bid: fc.double({ noNaN: true, noDefaultInfinity: true }),
    ask: fc.double({ noNaN: true, noDefaultInfinity: true }),
  },
  { requiredKeys: ['symbol', 'ts', 'price', 'size'] },
);

describe('TradeRing', () => {
  it('holds the newest `capacity` trades, whatever its first allocation, each given back field for field (optional ones only when present, -0 kept) with its seq (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 50 }), fc.array(tradeArb, { maxLength: 120 }), (capacity, initial, trades) => {
        // Any first allocation: the columns grow (doubling, up to capacity) while trades come, then wrap.
        const ring = new TradeRing('AAPL', capacity, initial);
        trades.forEach((t, i) => ring.push(t, 1000 + i));
        // The oracle: the plain list of every trade with its seq, cut to the newest `capacity`.
        const expected = trades.map((t, i) => ({ trade: { ...t }, seq: 1000 + i })).slice(-capacity);
        expect(ring.length).toBe(expected.length);
        const got = Array.from({ length: ring.length }, (_, i) => ring.at(i));
        expect(got).toStrictEqual(expected.map((e) => e.trade));
        expect(Array.from({ length: ring.length }, (_, i) => ring.tsAt(i))).toStrictEqual(expected.map((e) => e.trade.ts));
        expect(Array.from({ length: ring.length }, (_, i) => ring.seqAt(i))).toStrictEqual(expected.map((e) => e.seq));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a capacity that is not a whole number ≥ 1', () => {
    for (const c of [0, -1, 1.5, Number.NaN]) expect(() => new TradeRing('A', c)).toThrow(/capacity/);
    for (const c of [0, -1, 1.5, Number.NaN]) expect(() => new TradeRing('A', 10, c)).toThrow(/initial size/);
  });
});
