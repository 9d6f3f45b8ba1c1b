import type { Candle, LateEvent, Trade } from '@tickflow/core';
import { collect, keyBy, pipeline, toTradeColumns } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hopping, ohlcv, tumbling } from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 10, 0, 0);

/**
 * Long mostly-ordered streams (the columnar path hands runs of fast-path rows
 * to the aggregator's fused kernel, `addRunFast` in src/ohlcv.ts, and takes
 * the rest row by row: see pushColumns in src/internal/windowStage.ts), with
 * ties, sub-ms times, out-of-order and late events, zero sizes and all sides.
 */
function longStreamArb(): fc.Arbitrary<Trade[]> {
  const event = fc.record({
    // Keys that share a slot of the per-event key cache (same length and last two characters), and keys too short for it.
    symbol: fc.constantFrom('AAPL', 'MSFT', 'BTC-USD', 'ETH-USD', 'X.AB', 'Y.AB', 'A', ''),
    step: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
    back: fc.integer({ min: 1, max: 90_000 }),
    price: fc.double({ min: 1, max: 1_000, noNaN: true }),
    size: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true })),
    side: fc.constantFrom<'buy' | 'sell' | undefined>('buy', 'sell', undefined),
  });
  // Every `disorder`-th event comes up to 90 s late (none when 0): runs stay long, and are cut now and then.
  return fc.tuple(fc.array(event, { minLength: 600, maxLength: 2_500 }), fc.constantFrom(0, 9, 700)).map(([evs, disorder]) => {
    let ts = T0;
    return evs.map((e, i) => {
      ts += e.step / 4;
      const back = disorder !== 0 && i % disorder === disorder - 1 ? e.back : 0;
      const t: Trade = { symbol: e.symbol, ts: ts - back, price: e.price, size: e.size };
      if (e.side !== undefined) t.side = e.side;
      return t;
    });
  });
}

type Make = () => ReturnType<typeof tumbling<Trade, unknown, Candle>>;

function build(make: Make) {
  const out = collect<Candle>();
  const late = collect<LateEvent>();
  const job = pipeline<Trade>({ outOfOrderness: 2_000 }).pipe(keyBy('symbol'), make()).late(late).to(out);
  return { job, out, late };
}

describe('columnar runs', () => {
  it('pushColumns in long batches gives exactly what push gives, late events included', async () => {
    const makers: Make[] = [
      () => tumbling({ size: '1m' }, ohlcv()),
      () => tumbling({ size: [MIN, 5 * MIN], grace: 30_000 }, ohlcv()),
      () => hopping({ size: '2m', hop: '1m' }, ohlcv()) as ReturnType<Make>,
    ];
    await fc.assert(
      fc.asyncProperty(longStreamArb(), fc.constantFrom(513, 1_000, 100_000), fc.constantFrom(0, 1, 2), async (trades, chunk, m) => {
        const a = build(makers[m]!);
        for (const t of trades) a.job.push(t);
        await a.job.end();
        const c = build(makers[m]!);
        for (let i = 0; i < trades.length; i += chunk) c.job.pushColumns(toTradeColumns(trades.slice(i, i + chunk)));
        await c.job.end();
        expect(a.out.values.length).toBeGreaterThan(0);
        expect(c.out.values).toEqual(a.out.values);
        // Bit for bit, not only ===: sums that round differently would differ here.
        for (let i = 0; i < a.out.values.length; i++) {
          const x = a.out.values[i]!;
          const y = c.out.values[i]!;
          for (const f of ['open', 'high', 'low', 'close', 'volume', 'vwap', 'buyVolume', 'sellVolume'] as const) expect(Object.is(x[f], y[f])).toBe(true);
        }
        expect(c.late.values.map((l) => l.event)).toEqual(a.late.values.map((l) => l.event));
        expect(c.job.stats).toEqual(a.job.stats);
      }),
      { numRuns: 40 },
    );
  });
});
