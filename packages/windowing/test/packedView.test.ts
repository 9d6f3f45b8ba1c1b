import type { Candle, Trade } from '@tickflow/core';
import { collect, keyBy, pipeline } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ohlcv, tickCount, tumbling } from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 10, 0, 0);

const tradesArb = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: MIN - 1 }),
    price: fc.double({ min: 1, max: 1_000, noNaN: true }),
    size: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.double({ min: 0, max: 50, noNaN: true })),
    side: fc.constantFrom<'buy' | 'sell' | undefined>('buy', 'sell', undefined),
  }),
  { minLength: 1, maxLength: 200 },
).map((rows) => rows.map((r): Trade => ({ symbol: 'AAPL', ts: T0 + r.dt, price: r.price, size: r.size, ...(r.side ? { side: r.side } : {}) })));

const window = { key: 'AAPL', timeframe: '1m', start: T0, end: T0 + MIN, final: true, rev: 0 };

describe('the object view of the packed aggregators', () => {
  it('ohlcv: adding in two parts and merging equals adding all, and equals the window operator', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb, fc.nat(), async (trades, cut) => {
        const agg = ohlcv();
        const k = cut % (trades.length + 1);
        const all = agg.create();
        trades.forEach((t, i) => agg.add(all, t, i));
        const a = agg.create();
        const b = agg.create();
        trades.forEach((t, i) => agg.add(i < k ? a : b, t, i));
        agg.merge(a, b);
        const merged = agg.result(a, window);
        const direct = agg.result(all, window);
        expect(agg.same(merged, direct)).toBe(true);
        expect(merged.open).toBe(direct.open);
        expect(merged.close).toBe(direct.close);

        const out = collect<Candle>();
        const job = pipeline<Trade>({}).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(out);
        for (const t of trades) job.push(t);
        await job.end();
        expect(out.values).toHaveLength(1);
        const { final: _f, rev: _r, ...fromJob } = out.values[0]!;
        const { final: _f2, rev: _r2, ...fromView } = direct;
        expect(fromView).toEqual(fromJob);
      }),
      { numRuns: 200 },
    );
  });

  it('tickCount: merge and reset', () => {
    const agg = tickCount();
    const a = agg.create();
    const b = agg.create();
    agg.add(a, { side: 'buy' }, 0);
    agg.add(a, {}, 1);
    agg.add(b, { side: 'sell' }, 2);
    agg.merge(a, b);
    expect(agg.result(a, window)).toMatchObject({ trades: 3, buyTrades: 1, sellTrades: 1 });
    expect(agg.result(b, window)).toMatchObject({ trades: 1, buyTrades: 0, sellTrades: 1 });
    agg.reset!(a);
    expect(agg.result(a, window)).toMatchObject({ trades: 0, buyTrades: 0, sellTrades: 0 });
  });
});
