import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidEvent, TradeInputSchema, TradeSchema, normalizeTrade, parseTrade } from './trade.js';
import { quoteOfTrade } from './quote.js';

describe('normalizeTrade', () => {
  it("normalises the seed's input shape", () => {
    const raw = { symbol: 'AAPL', price: 150.25, volume: 50000, bid: 150.24, ask: 150.26, timestamp: '2024-01-19 10:30:45.123Z' };
    const t = normalizeTrade(raw);
    expect(t).toEqual({ symbol: 'AAPL', ts: Date.UTC(2024, 0, 19, 10, 30, 45, 123), price: 150.25, size: 50000, bid: 150.24, ask: 150.26 });
    expect(quoteOfTrade(t as never)).toEqual({ symbol: 'AAPL', ts: 1705660245123, bid: 150.24, ask: 150.26 });
  });

  it('reads ISO times without a zone as UTC, numeric strings as numbers, and side aliases', () => {
    expect(normalizeTrade({ symbol: 'X', time: '2024-01-19T10:30:45', price: '1.5', qty: '10', side: 'S', id: 42 })).toEqual({
      symbol: 'X', ts: Date.UTC(2024, 0, 19, 10, 30, 45), price: 1.5, size: 10, side: 'sell', id: '42',
    });
  });

  it('says what is wrong with bad input', () => {
    const cases: [unknown, RegExp][] = [
      [null, /expected a trade object, got null/],
      [[1, 2], /got an array/],
      [{ symbol: 'A', ts: 1, price: Number.NaN, size: 1 }, /price/],
      [{ symbol: 'A', ts: 1, price: 1, size: -5 }, /size must be ≥ 0/],
      [{ symbol: 'A'.repeat(40), ts: 1, price: 1, size: 1 }, /symbol must be at most 32 characters/],
      [{ symbol: 'A', ts: 'yesterday', price: 1, size: 1 }, /ts/],
      [{ symbol: 'A', ts: 1, price: 1 }, /size/],
      [{ symbol: 'A', ts: 1, price: 1, size: 1, side: 'long' }, /side/],
      [{ symbol: 'A B', ts: 1, price: 1, size: 1 }, /printable ASCII without spaces/],
    ];
    for (const [raw, re] of cases) {
      const r = normalizeTrade(raw);
      expect(r).toBeInstanceOf(InvalidEvent);
      expect((r as InvalidEvent).reason).toMatch(re);
    }
  });

  it('rejects symbols outside a configured whitelist', () => {
    const r = normalizeTrade({ symbol: 'ZZZ', ts: 1, price: 1, size: 1 }, { symbols: new Set(['AAPL']) });
    expect((r as InvalidEvent).reason).toMatch(/unknown symbol "ZZZ"/);
    expect(() => parseTrade({ symbol: 'ZZZ', ts: 1, price: 1, size: -1 })).toThrow(/invalid trade: size/);
  });

  it('agrees with the zod schema on arbitrary records (fast path == schema)', () => {
    const value = fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 6 }), fc.constant(undefined), fc.constant(null), fc.boolean());
    const record = fc.record(
      {
        symbol: fc.oneof(fc.constantFrom('AAPL', '', 'A B', 'X'.repeat(33)), fc.string({ maxLength: 5 })),
        ts: value,
        price: value,
        size: value,
        side: fc.constantFrom('buy', 'sell', 'B', 'long', undefined),
        id: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(undefined)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, (raw) => {
        const fast = normalizeTrade(raw);
        const schema = TradeInputSchema.safeParse(raw);
        expect(fast instanceof InvalidEvent).toBe(!schema.success);
        if (schema.success) {
          expect(fast).toEqual(schema.data);
          expect(TradeSchema.safeParse(fast).success).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
