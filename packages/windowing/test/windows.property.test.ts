import type { Candle, LateEvent, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline, toTradeColumns } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../src/index.js';
import { hopping, ohlcv, tickCount, tumbling, volumeProfile } from '../src/index.js';
import type { Definition } from './oracle.js';
import { byWindow, candleDefinition, profileDefinition, simulateFinal, sortedEntries, tickCountDefinition } from './oracle.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 10, 0, 0);

/**
 * Random trade streams: event times on a 5 s grid from T0 with gaps of 0–40 s
 * (so ties and exact window boundaries are common), prices on a cent grid,
 * integer sizes including 0, optional side; then each event is delayed by a
 * random amount up to `maxDelay` and the stream is ordered by arrival.
 */
function tradesArb(maxDelay: number, maxLength = 120): fc.Arbitrary<Trade[]> {
  const event = fc.record({
    symbol: fc.constantFrom('AAPL', 'MSFT', 'BTC-USD'),
    gap: fc.integer({ min: 0, max: 8 }),
    cents: fc.integer({ min: 9_000, max: 11_000 }),
    size: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constant(0)),
    side: fc.constantFrom<'buy' | 'sell' | undefined>('buy', 'sell', undefined),
    delay: fc.integer({ min: 0, max: maxDelay }),
  });
  return fc.array(event, { minLength: 1, maxLength }).map((evs) => {
    let ts = T0;
    const timed = evs.map((e, i) => {
      ts += e.gap * 5_000;
      const t: Trade = { symbol: e.symbol, ts, price: e.cents / 100, size: e.size };
      if (e.side !== undefined) t.side = e.side;
      return { t, arrival: ts + e.delay, i };
    });
    timed.sort((a, b) => a.arrival - b.arrival || a.i - b.i);
    return timed.map((x) => x.t);
  });
}

async function runFinal<Out>(
  trades: Trade[],
  ooo: number,
  op: ReturnType<typeof tumbling<Trade, unknown, Out>>,
): Promise<{ out: Out[]; late: LateEvent[] }> {
  const out = collect<Out>();
  const late = collect<LateEvent>();
  await pipeline(fromArray(trades, { batchSize: 7 }), { outOfOrderness: ooo })
    .pipe(keyBy('symbol'), op)
    .late(late)
    .to(out)
    .run();
  return { out: out.values, late: late.values };
}

function checkAgainstOracle<Out extends { symbol: string; start: number }>(
  name: string,
  agg: () => Aggregator<Trade, unknown, Out>,
  definition: Definition<Out>,
  opts: { size: number; hop?: number; grace: number; ooo: number; maxDelay: number },
): void {
  it(`${name}: every emission equals the oracle (size ${opts.size / 1000}s${opts.hop ? ` hop ${opts.hop / 1000}s` : ''}, grace ${opts.grace / 1000}s, out-of-orderness ${opts.ooo / 1000}s, disorder ≤ ${opts.maxDelay / 1000}s)`, async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(opts.maxDelay), async (trades) => {
        const a = agg();
        const op =
          opts.hop === undefined
            ? tumbling({ size: opts.size, grace: opts.grace }, a)
            : hopping({ size: opts.size, hop: opts.hop, grace: opts.grace }, a);
        const { out, late } = await runFinal(trades, opts.ooo, op as never);
        const oracle = simulateFinal(trades, {
          size: opts.size,
          hop: opts.hop,
          label: opts.hop === undefined ? `${opts.size / MIN}m` : `${opts.size / MIN}m`,
          outOfOrderness: opts.ooo,
          grace: opts.grace,
          definition,
          same: (x, y) => a.same(x, y),
        });
        expect(sortedEntries(byWindow(out as Out[]))).toEqual(sortedEntries(oracle.emissions));
        expect(late.map((l) => l.event)).toEqual(oracle.late.map((i) => trades[i]));
        if (opts.maxDelay <= opts.ooo) expect(late).toHaveLength(0);
      }),
      { numRuns: 150 },
    );
  });
}

describe('windows against a brute-force oracle', () => {
  // Disorder inside the allowed out-of-orderness: nothing is late, results identical.
  checkAgainstOracle('ohlcv tumbling', ohlcv as () => Aggregator<Trade, unknown, Candle>, candleDefinition, { size: MIN, grace: 0, ooo: 20_000, maxDelay: 20_000 });
  checkAgainstOracle('tick count tumbling', tickCount as () => Aggregator<Trade, unknown, TickCount>, tickCountDefinition, { size: MIN, grace: 0, ooo: 20_000, maxDelay: 20_000 });
  checkAgainstOracle('volume profile tumbling', () => volumeProfile({ step: 0.05 }) as Aggregator<Trade, unknown, VolumeProfile>, profileDefinition(5), { size: MIN, grace: 0, ooo: 20_000, maxDelay: 20_000 });
  // Disorder beyond it: late events inside grace re-emit, later ones go to the late output.
  checkAgainstOracle('ohlcv tumbling with late data', ohlcv as () => Aggregator<Trade, unknown, Candle>, candleDefinition, { size: MIN, grace: 30_000, ooo: 5_000, maxDelay: 120_000 });
  checkAgainstOracle('ohlcv tumbling with late data, no grace', ohlcv as () => Aggregator<Trade, unknown, Candle>, candleDefinition, { size: MIN, grace: 0, ooo: 0, maxDelay: 90_000 });
  checkAgainstOracle('volume profile with late data', () => volumeProfile({ step: 0.1 }) as Aggregator<Trade, unknown, VolumeProfile>, profileDefinition(10), { size: MIN, grace: 20_000, ooo: 10_000, maxDelay: 100_000 });
  checkAgainstOracle('ohlcv hopping', ohlcv as () => Aggregator<Trade, unknown, Candle>, candleDefinition, { size: 3 * MIN, hop: MIN, grace: 0, ooo: 15_000, maxDelay: 15_000 });
  checkAgainstOracle('ohlcv hopping with late data', ohlcv as () => Aggregator<Trade, unknown, Candle>, candleDefinition, { size: 2 * MIN, hop: MIN, grace: 10_000, ooo: 5_000, maxDelay: 150_000 });

  it('accounts for every event: in exactly one final window or in the late output', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(200_000, 200), fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 0, max: 60_000 }), async (trades, ooo, grace) => {
        const { out, late } = await runFinal(trades, ooo, tumbling({ size: MIN, grace }, tickCount()) as never);
        const last = [...byWindow(out as TickCount[]).values()].map((list) => list[list.length - 1]!);
        const inWindows = last.reduce((n, c) => n + c.trades, 0);
        expect(inWindows + late.length).toBe(trades.length);
        for (const list of byWindow(out as TickCount[]).values()) {
          // The version is 2 × events + 1 for a final result: it follows the trade count.
          expect(list.map((c) => c.rev)).toEqual(list.map((c) => 2 * c.trades + 1));
          expect(list.every((c) => c.final)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('multi-timeframe rollups', () => {
  it('1m/5m/15m/1h rolled up from 1m equal computing each timeframe directly', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(10_000, 300), async (trades) => {
        const sizes = [MIN, 5 * MIN, 15 * MIN, 60 * MIN];
        const rolled = await runFinal(trades, 10_000, tumbling({ size: sizes }, ohlcv()) as never);
        for (const size of sizes) {
          const direct = await runFinal(trades, 10_000, tumbling({ size }, ohlcv()) as never);
          const label = `${size / MIN === 60 ? '1h' : `${size / MIN}m`}`;
          const fromRollup = (rolled.out as Candle[]).filter((c) => c.timeframe === label);
          expect(sortedEntries(byWindow(fromRollup))).toEqual(sortedEntries(byWindow(direct.out as Candle[])));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('rollup corrections: a late 1m correction inside grace re-emits the 5m window too, and the last 5m equals the direct one', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(90_000, 200), async (trades) => {
        const ooo = 5_000;
        const grace = 120_000;
        const rolled = await runFinal(trades, ooo, tumbling({ size: [MIN, 5 * MIN], grace }, ohlcv()) as never);
        // The base timeframe decides lateness, so compare with direct 5m over the events the 1m level accepted.
        const lateSet = new Set(rolled.late.map((l) => l.event));
        const accepted = trades.filter((t) => !lateSet.has(t));
        const direct = await runFinal(accepted, Number.MAX_SAFE_INTEGER, tumbling({ size: 5 * MIN }, ohlcv()) as never);
        const lastOf = (cs: Candle[]) =>
          sortedEntries(byWindow(cs)).map(([id, list]) => {
            const { rev: _rev, final: _final, ...rest } = list[list.length - 1]!;
            return [id, rest] as const;
          });
        const rolled5 = (rolled.out as Candle[]).filter((c) => c.timeframe === '5m');
        expect(lastOf(rolled5)).toEqual(lastOf(direct.out as Candle[]));
      }),
      { numRuns: 100 },
    );
  });

  it('rolls volume profiles and tick counts up as well', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(0, 200), async (trades) => {
        for (const agg of [() => volumeProfile({ step: 0.25 }), () => tickCount()] as (() => Aggregator<Trade, unknown, { symbol: string; start: number; timeframe: string }>)[]) {
          const rolled = await runFinal(trades, 0, tumbling({ size: [MIN, 15 * MIN] }, agg()) as never);
          const direct = await runFinal(trades, 0, tumbling({ size: 15 * MIN }, agg()) as never);
          const r15 = (rolled.out as { symbol: string; start: number; timeframe: string }[]).filter((c) => c.timeframe === '15m');
          expect(sortedEntries(byWindow(r15))).toEqual(sortedEntries(byWindow(direct.out as { symbol: string; start: number }[])));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('entry points and emit modes give consistent results', () => {
  it('per-event push, array batches, columnar batches and run() produce the same output in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(60_000, 200), fc.integer({ min: 1, max: 50 }), async (trades, chunk) => {
        const make = () => tumbling({ size: [MIN, 5 * MIN], grace: 20_000 }, ohlcv());
        const build = () => {
          const out = collect<Candle>();
          const late = collect<LateEvent>();
          const job = pipeline<Trade>({ outOfOrderness: 10_000 }).pipe(keyBy('symbol'), make()).late(late).to(out);
          return { job, out, late };
        };
        const a = build();
        for (const t of trades) a.job.push(t);
        await a.job.end();
        const b = build();
        for (let i = 0; i < trades.length; i += chunk) b.job.pushBatch(trades.slice(i, i + chunk));
        await b.job.end();
        const c = build();
        for (let i = 0; i < trades.length; i += chunk) c.job.pushColumns(toTradeColumns(trades.slice(i, i + chunk)));
        await c.job.end();
        const d = await runFinal(trades, 10_000, make() as never);
        expect(b.out.values).toEqual(a.out.values);
        expect(c.out.values).toEqual(a.out.values);
        expect(d.out).toEqual(a.out.values);
        expect(b.late.values.length).toBe(a.late.values.length);
        expect(c.late.values.map((l) => l.event)).toEqual(a.late.values.map((l) => l.event));
      }),
      { numRuns: 150 },
    );
  });

  it('update mode: versions grow with every emission (2 × trades + final), only the last emissions are final, and the final state equals final mode', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(40_000, 150), async (trades) => {
        const ooo = 20_000;
        const grace = 30_000;
        const upd = await runFinal(trades, ooo, tumbling({ size: [MIN, 5 * MIN], grace, emit: 'update' }, ohlcv()) as never);
        const fin = await runFinal(trades, ooo, tumbling({ size: [MIN, 5 * MIN], grace }, ohlcv()) as never);
        const key = (c: Candle) => `${c.timeframe}|${c.symbol}|${c.start}`;
        const group = (cs: Candle[]) => {
          const m = new Map<string, Candle[]>();
          for (const c of cs) m.set(key(c), [...(m.get(key(c)) ?? []), c]);
          return m;
        };
        const u = group(upd.out as Candle[]);
        const f = group(fin.out as Candle[]);
        expect([...u.keys()].sort()).toEqual([...f.keys()].sort());
        for (const [k, list] of u) {
          expect(list.map((c) => c.rev)).toEqual(list.map((c) => 2 * c.trades + (c.final ? 1 : 0)));
          for (let i = 1; i < list.length; i++) expect(list[i]!.rev).toBeGreaterThan(list[i - 1]!.rev);
          const firstFinal = list.findIndex((c) => c.final);
          expect(firstFinal).toBeGreaterThanOrEqual(0);
          expect(list.slice(firstFinal).every((c) => c.final)).toBe(true);
          // No two consecutive emissions carry the same data unless finality changed.
          for (let i = 1; i < list.length; i++) {
            if (list[i]!.final === list[i - 1]!.final) expect(ohlcv().same(list[i]!, list[i - 1]!)).toBe(false);
          }
          // The last update equals the last final-mode result, version included.
          const fl = f.get(k)!;
          expect(list[list.length - 1]).toEqual(fl[fl.length - 1]);
        }
      }),
      { numRuns: 100 },
    );
  });
});
