import fc from 'fast-check';
import type { Quote, Trade } from '@tickflow/core';
import { quoteOfTrade } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { latestQuotes } from '../../src/server/ingestEvents.js';

const tradeArb: fc.Arbitrary<Trade> = fc.record(
  {
    symbol: fc.constantFrom('AAPL', 'MSFT', 'X'),
    // Few distinct times, so equal timestamps (ties) and out-of-order trades are common.
    ts: fc.integer({ min: 0, max: 6 }),
    price: fc.double({ min: 1, max: 1000, noNaN: true }),
    size: fc.integer({ min: 1, max: 100 }),
    bid: fc.double({ min: 1, max: 1000, noNaN: true }),
    ask: fc.double({ min: 1, max: 1000, noNaN: true }),
  },
  { requiredKeys: ['symbol', 'ts', 'price', 'size'] },
);

/** The quotes channel's rule (packages/ws-server/src/internal/channelState.ts, upsert): a quote replaces the held one unless it is older. */
function fold(held: Map<string, Quote>, quotes: readonly Quote[]): void {
  for (const q of quotes) {
    const cur = held.get(q.symbol);
    if (cur === undefined || q.ts >= cur.ts) held.set(q.symbol, q);
  }
}

describe('latestQuotes', () => {
  it('gives the channel the state that every trade quote published in order gives, across batches (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(tradeArb, { maxLength: 30 }), { maxLength: 5 }), (batches) => {
        const everyQuote = new Map<string, Quote>();
        const conflated = new Map<string, Quote>();
        for (const batch of batches) {
          fold(everyQuote, batch.map((t) => quoteOfTrade(t)).filter((q): q is Quote => q !== undefined));
          const latest = latestQuotes(batch);
          // One per symbol, only from trades that carry a quote.
          expect(new Set(latest.map((q) => q.symbol)).size).toBe(latest.length);
          fold(conflated, latest);
          expect(conflated).toStrictEqual(everyQuote);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('takes the latest event time, the later trade on a tie, and skips trades without bid and ask', () => {
    const t = (ts: number, bid: number | undefined, symbol = 'A'): Trade => ({ symbol, ts, price: 10, size: 1, ...(bid === undefined ? {} : { bid, ask: bid + 1 }) });
    expect(latestQuotes([t(5, 1), t(3, 2), t(5, 3), t(9, undefined), t(1, 7, 'B')])).toStrictEqual([
      { symbol: 'A', ts: 5, bid: 3, ask: 4 },
      { symbol: 'B', ts: 1, bid: 7, ask: 8 },
    ]);
    expect(latestQuotes([t(1, undefined)])).toStrictEqual([]);
  });
});
