import type { LateEvent, Trade } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CorrelationMatrix } from '../src/index.js';
import { correlation } from '../src/index.js';
import { CoMoments } from '../src/extend/index.js';
import type { OracleMatrix } from './correlationOracle.js';
import { correlationOracle, twoPassPearson } from './correlationOracle.js';

const T0 = Date.UTC(2024, 0, 19, 14, 30, 0);
const INTERVAL = 1_000;
/** Agreement asked of the streaming co-moments against the two-pass oracle (r is in [−1, 1]). */
const TOLERANCE = 1e-9;

/**
 * Random trade streams over up to five symbols: arrival times with gaps of
 * 0–1.6 s (so some intervals have no trade at all, some symbols skip
 * intervals, and several trades share an interval or a timestamp), prices as
 * per-symbol random walks in cents (moves of 0 are common, so constant runs
 * and zero returns happen), each event time earlier than its arrival by up to
 * `maxDelay` (often on the same 100 ms grid, for ties), which the caller keeps within out-of-orderness + grace.
 */
function tradesArb(maxDelay: number, maxLength: number): fc.Arbitrary<Trade[]> {
  const event = fc.record({
    symbol: fc.constantFrom('AAPL', 'MSFT', 'NVDA', 'SPY', 'BTC-USD'),
    gap: fc.integer({ min: 0, max: 16 }),
    move: fc.oneof(fc.constant(0), fc.integer({ min: -40, max: 40 })),
    // Delays on the 100 ms grid of arrivals too, so trades of one symbol often share a timestamp.
    delay: fc.oneof(fc.integer({ min: 0, max: maxDelay }), fc.integer({ min: 0, max: Math.floor(maxDelay / 100) }).map((d) => d * 100)),
    // Event time snapped down to a 500 ms grid where the delay allows: many trades of a symbol then tie on the close.
    snap: fc.boolean(),
  });
  return fc.array(event, { minLength: 0, maxLength }).map((evs) => {
    let arrival = T0;
    const cents = new Map<string, number>();
    const timed = evs.map((e) => {
      arrival += e.gap * 100;
      const c = Math.max(100, (cents.get(e.symbol) ?? 10_000) + e.move);
      cents.set(e.symbol, c);
      const ts = arrival - e.delay;
      const snapped = Math.floor(ts / 500) * 500;
      return { symbol: e.symbol, ts: e.snap && arrival - snapped <= maxDelay ? snapped : ts, price: c / 100, size: 1 } satisfies Trade;
    });
    return timed;
  });
}

async function run(trades: Trade[], opts: { ooo: number; grace: number; lookback: number; minReturns?: number; batchSize?: number }): Promise<{ out: CorrelationMatrix[]; late: LateEvent[] }> {
  const out = collect<CorrelationMatrix>();
  const late = collect<LateEvent>();
  await pipeline(fromArray(trades, { batchSize: opts.batchSize ?? 7 }), { outOfOrderness: opts.ooo })
    .pipe(keyBy('symbol'), correlation({ interval: INTERVAL, lookback: opts.lookback, grace: opts.grace, ...(opts.minReturns === undefined ? {} : { minReturns: opts.minReturns }) }))
    .late(late)
    .to(out)
    .run();
  return { out: out.values, late: late.values };
}

function expectMatches(actual: readonly CorrelationMatrix[], expected: readonly OracleMatrix[]): void {
  expect(actual.map((m) => [m.start, m.end, m.symbols, m.counts])).toEqual(expected.map((m) => [m.start, m.end, m.symbols, m.counts]));
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const e = expected[k]!;
    const n = e.symbols.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const got = a.values[i * n + j]!;
        const want = e.values[i]![j]!;
        if (Number.isNaN(want) || Number.isNaN(got)) {
          if (Number.isNaN(want) !== Number.isNaN(got)) throw new Error(`row ${k} (${e.start}) ${e.symbols[i]}/${e.symbols[j]}: got ${got}, oracle ${want}`);
        } else if (Math.abs(got - want) > TOLERANCE) {
          throw new Error(`row ${k} (${e.start}) ${e.symbols[i]}/${e.symbols[j]}: got ${got}, oracle ${want} (|Δ| ${Math.abs(got - want)})`);
        }
      }
    }
  }
}

/** Out-of-orderness and grace, then a stream whose delays stay within their sum (so nothing is late). */
const caseArb = fc
  .record({ ooo: fc.integer({ min: 0, max: 2_000 }), grace: fc.integer({ min: 0, max: 1_500 }), lookback: fc.integer({ min: 2, max: 7 }), minReturns: fc.integer({ min: 2, max: 4 }), batchSize: fc.integer({ min: 1, max: 9 }) })
  .chain((c) => tradesArb(c.ooo + c.grace, 160).map((trades) => ({ ...c, trades })));

describe('correlation against a brute-force oracle', () => {
  it('equals a two-pass Pearson over carried-forward closes for out-of-order streams within the lateness bound', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ trades, ooo, grace, lookback, minReturns, batchSize }) => {
        const { out, late } = await run(trades, { ooo, grace, lookback, minReturns, batchSize });
        expect(late).toEqual([]);
        expectMatches(out, correlationOracle(trades, { interval: INTERVAL, lookback, minReturns }));
      }),
      { numRuns: 150 },
    );
  });

  it('slides over long streams: thousands of removals and rebuilds stay within the tolerance', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 40 }), tradesArb(0, 1_500), async (lookback, trades) => {
        const { out } = await run(trades, { ooo: 0, grace: 0, lookback });
        expectMatches(out, correlationOracle(trades, { interval: INTERVAL, lookback }));
      }),
      { numRuns: 25 },
    );
  });
});

describe('CoMoments', () => {
  /** Return-sized values on a 1e-6 grid (constant series, exact zeros and ties included). */
  const value = fc.integer({ min: -50_000, max: 50_000 }).map((i) => i / 1e6);
  const pairsArb = fc.array(fc.tuple(value, value), { minLength: 0, maxLength: 60 });

  it('merges any split of a sample into the moments of adding it whole', () => {
    fc.assert(
      fc.property(pairsArb, fc.nat(), (pairs, cut) => {
        const k = pairs.length === 0 ? 0 : cut % (pairs.length + 1);
        const whole = new CoMoments();
        const left = new CoMoments();
        const right = new CoMoments();
        pairs.forEach(([x, y], i) => {
          whole.add(x, y);
          (i < k ? left : right).add(x, y);
        });
        left.merge(right);
        expect(left.n).toBe(whole.n);
        for (const f of ['meanX', 'meanY', 'm2x', 'm2y', 'cxy'] as const) expect(Math.abs(left[f] - whole[f])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(whole[f])));
        const r = whole.correlation();
        const want = twoPassPearson(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
        if (Number.isNaN(want)) expect(r).toBeNaN();
        else expect(Math.abs(r - want)).toBeLessThanOrEqual(1e-9);
      }),
    );
  });

  it('removes a pair exactly as if it had never been added', () => {
    fc.assert(
      fc.property(pairsArb, fc.tuple(value, value), (pairs, [x, y]) => {
        const with_ = new CoMoments();
        const without = new CoMoments();
        for (const [a, b] of pairs) {
          with_.add(a, b);
          without.add(a, b);
        }
        with_.add(x, y);
        with_.remove(x, y);
        expect(with_.n).toBe(without.n);
        for (const f of ['meanX', 'meanY', 'm2x', 'm2y', 'cxy'] as const) expect(Math.abs(with_[f] - without[f])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(without[f])));
      }),
    );
  });

  it('keeps its accuracy when the mean dwarfs the spread (where Σxy − ΣxΣy/n cancels)', () => {
    const m = new CoMoments();
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const x = 1e9 + Math.sin(i) * 1e-3;
      const y = 1e9 + Math.sin(i) * 2e-3 + Math.cos(i * 7) * 1e-3;
      xs.push(x);
      ys.push(y);
      m.add(x, y);
    }
    const naive = (() => {
      let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
      for (let i = 0; i < xs.length; i++) {
        sx += xs[i]!; sy += ys[i]!; sxy += xs[i]! * ys[i]!; sxx += xs[i]! * xs[i]!; syy += ys[i]! * ys[i]!;
      }
      const n = xs.length;
      return (sxy - (sx * sy) / n) / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
    })();
    const want = twoPassPearson(xs, ys);
    expect(Math.abs(m.correlation() - want)).toBeLessThan(1e-6);
    // The textbook one-pass formula is far off (or not even a number) on the same data.
    expect(Number.isNaN(naive) || Math.abs(naive - want) > 1e-3).toBe(true);
  });
});
