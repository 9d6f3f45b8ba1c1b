import fc from 'fast-check';
import type { Trade } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { packTrades, unpackTrades } from '../../src/server/ingestWire.js';

const num = fc.double({ noNaN: true });
const tradeArb: fc.Arbitrary<Trade> = fc.record(
  {
    symbol: fc.constantFrom('AAPL', 'MSFT', 'BRK.B', 'X', 'ÉTÉ-1'),
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), num),
    price: num,
    size: fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.double({ min: 0, noNaN: true })),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    id: fc.string({ maxLength: 20 }),
    bid: num,
    ask: num,
  },
  { requiredKeys: ['symbol', 'ts', 'price', 'size'] },
);

describe('packTrades / unpackTrades (the trades crossing from the ingest worker)', () => {
  it('give back every trade field for field, optional fields only where present, -0 and infinities kept (property)', () => {
    fc.assert(
      fc.property(fc.array(tradeArb, { maxLength: 60 }), (trades) => {
        const packed = packTrades(trades);
        // What crosses the thread boundary: a structured clone, the buffer transferred.
        const crossed = structuredClone(packed, { transfer: [packed.buf] });
        // fast-check's records have no prototype: compare with plain copies.
        expect(unpackTrades(crossed)).toStrictEqual(trades.map((t) => ({ ...t })));
        expect(crossed.symbols.length).toBe(new Set(trades.map((t) => t.symbol)).size);
        expect(crossed.ids === undefined).toBe(trades.every((t) => t.id === undefined));
      }),
      { numRuns: 300 },
    );
  });
});
