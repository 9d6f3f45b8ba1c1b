import type { DeadLetter, Keyed, LateEvent, PipelineBuilder, Trade } from '@tickflow/core';
import { TickflowError, collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CorrelationMatrix, CorrelationOptions } from '../src/index.js';
import { correlation, correlationPairs } from '../src/index.js';
import { correlationOracle } from './correlationOracle.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 14, 30, 0);
const t = (symbol: string, ts: number, price: number): Trade => ({ symbol, ts, price, size: 1 });

async function run(trades: Trade[], options: CorrelationOptions, ooo = 0): Promise<{ out: CorrelationMatrix[]; late: LateEvent[]; dead: DeadLetter[] }> {
  const out = collect<CorrelationMatrix>();
  const late = collect<LateEvent>();
  const dead = collect<DeadLetter>();
  await pipeline(fromArray(trades), { outOfOrderness: ooo }).pipe(keyBy('symbol'), correlation(options)).late(late).deadLetters(dead).to(out).run();
  return { out: out.values, late: late.values, dead: dead.values };
}

/** One trade per symbol per minute at the given prices (closes), minute k at T0 + k min + 30 s. */
function minutes(series: Record<string, number[]>): Trade[] {
  const trades: Trade[] = [];
  const len = Math.max(...Object.values(series).map((p) => p.length));
  for (let k = 0; k < len; k++) for (const [sym, prices] of Object.entries(series)) if (prices[k] !== undefined) trades.push(t(sym, T0 + k * MIN + 30_000, prices[k]!));
  return trades;
}

const at = (m: CorrelationMatrix, a: string, b: string): number => m.values[m.symbols.indexOf(a) * m.symbols.length + m.symbols.indexOf(b)]!;

describe('correlation', () => {
  it('emits nothing for no trades and for a single interval (no return yet)', async () => {
    expect((await run([], { lookback: 5 })).out).toEqual([]);
    expect((await run([t('A', T0, 10), t('B', T0 + 1, 20)], { lookback: 5 })).out).toEqual([]);
  });

  it('gives r = 1 for prices moving in proportion, −1 for opposite moves, and the value of a hand-computed case', async () => {
    const { out } = await run(minutes({ A: [100, 101, 99, 102, 104], B: [50, 50.5, 49.5, 51, 52], C: [10, 9.9, 10.1, 9.8, 9.6], D: [20, 20.2, 20.1, 20.5, 20.4] }), { interval: '1m', lookback: 60 });
    expect(out.map((m) => m.end)).toEqual([1, 2, 3, 4].map((k) => T0 + (k + 1) * MIN));
    const m = out.at(-1)!;
    expect(m).toMatchObject({ interval: '1m', lookback: 60, start: T0 + 4 * MIN, symbols: ['A', 'B', 'C', 'D'], counts: [4, 4, 4, 4] });
    expect(at(m, 'A', 'B')).toBeCloseTo(1, 12);
    expect(at(m, 'A', 'A')).toBe(1);
    expect(at(m, 'A', 'C')).toBeLessThan(-0.99);
    // D by hand: r of the log returns of A and D, computed with the textbook two-pass formula.
    const lr = (p: number[]) => p.slice(1).map((x, i) => Math.log(x / p[i]!));
    const [x, y] = [lr([100, 101, 99, 102, 104]), lr([20, 20.2, 20.1, 20.5, 20.4])];
    const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
    const [mx, my] = [mean(x), mean(y)];
    const cov = x.reduce((s, xi, i) => s + (xi - mx) * (y[i]! - my), 0);
    const want = cov / Math.sqrt(x.reduce((s, xi) => s + (xi - mx) ** 2, 0) * y.reduce((s, yi) => s + (yi - my) ** 2, 0));
    expect(at(m, 'A', 'D')).toBeCloseTo(want, 12);
    expect(at(m, 'D', 'A')).toBe(at(m, 'A', 'D'));
  });

  it('uses only the last `lookback` returns', async () => {
    // Returns of B follow A's for three minutes, then go against them: r over the last 2 returns is −1.
    const { out } = await run(minutes({ A: [100, 101, 100, 101, 102, 101], B: [100, 101, 100, 101, 100, 101] }), { lookback: 2 });
    const m = out.at(-1)!;
    expect(m.counts).toEqual([2, 2]);
    expect(at(m, 'A', 'B')).toBeCloseTo(-1, 12);
    expect(at(out[2]!, 'A', 'B')).toBeCloseTo(1, 12);
  });

  it('carries a price through minutes without a trade (a zero return) and skips minutes in which nothing traded', async () => {
    const trades = [
      ...minutes({ A: [100, 101, 102], B: [100, 101] }),
      // Nothing at all for two hours, then both trade again.
      t('A', T0 + 120 * MIN, 103),
      t('B', T0 + 120 * MIN + 1, 103),
    ];
    const { out } = await run(trades, { lookback: 10 });
    expect(out.map((m) => m.start)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 120 * MIN]);
    // B's returns: ln(101/100), 0 (no trade in minute 2), ln(103/101); three returns, not 120.
    expect(out.at(-1)!.counts).toEqual([3, 3]);
  });

  it('takes the close at the latest event time whatever the arrival order, the later arrival on a tie', async () => {
    const inOrder = minutes({ A: [100, 101, 103, 102], B: [100, 107, 101, 104] });
    const shuffled = minutes({ A: [100, 101, 103, 102], B: [100, 102, 101, 104] });
    // Within minute 1: an earlier trade of A arrives after its close; a trade of B at its close's time arrives later and replaces it.
    shuffled.splice(4, 0, t('A', T0 + MIN + 10_000, 500), t('B', T0 + MIN + 30_000, 107));
    const a = await run(inOrder, { lookback: 5 }, 30_000);
    const b = await run(shuffled, { lookback: 5 }, 30_000);
    expect(b.late).toEqual([]);
    expect(b.out).toEqual(a.out);
  });

  it('sends a trade for an interval already emitted to the late output, and accepts one inside grace', async () => {
    const trades = [...minutes({ A: [100, 101, 102], B: [100, 99, 101] })];
    // Minute 3 opens, the watermark passes the end of minute 2, then a trade of minute 2 arrives.
    trades.push(t('A', T0 + 3 * MIN + 1, 100), t('A', T0 + 2 * MIN + 10_000, 1));
    const { out, late } = await run(trades, { lookback: 5 });
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ key: 'A', windowStart: T0 + 2 * MIN, windowEnd: T0 + 3 * MIN, operator: 'correlation' });
    expect(out).toHaveLength(3);
    // With a minute of grace the same trade is on time (it is the earliest of its minute, so the close stands).
    const withGrace = await run(trades, { lookback: 5, grace: '1m' });
    expect(withGrace.late).toEqual([]);
    expect(withGrace.out.map((m) => at(m, 'A', 'B'))).toEqual(out.map((m) => at(m, 'A', 'B')));
    expect(out.map((m) => m.start)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
  });

  it('judges lateness on the input (partition) a trade came on as well as on the pipeline watermark', async () => {
    const out = collect<CorrelationMatrix>();
    const late = collect<LateEvent>();
    const job = pipeline<Trade>().pipe(keyBy('symbol'), correlation({ lookback: 5 })).late(late).to(out);
    const second = job.addInput();
    // Input 0 is three minutes ahead; input 1 holds the pipeline watermark back at minute 0.
    job.push(t('A', T0 + 3 * MIN, 100), 0);
    job.push(t('B', T0, 50), second);
    // Late within its own input: minute 0 ended long before input 0's watermark.
    job.push(t('A', T0 + 10_000, 99), 0);
    // On time on input 1 (its watermark is at minute 0).
    job.push(t('B', T0 + 20_000, 51), second);
    await job.end();
    expect(late.values.map((e) => [e.key, e.windowStart])).toEqual([['A', T0]]);
    expect(out.values.map((m) => m.start)).toEqual([T0 + 3 * MIN]);
  });

  it('answers NaN for a constant series and for samples below minReturns', async () => {
    const { out } = await run(minutes({ A: [100, 101, 100, 102], F: [5, 5, 5, 5], B: [7, 7.1, 7, 7.3] }), { lookback: 10, minReturns: 3 });
    expect(at(out[0]!, 'A', 'B')).toBeNaN();
    expect(at(out[1]!, 'A', 'B')).toBeNaN();
    expect(at(out[2]!, 'A', 'B')).toBeGreaterThan(0.9);
    expect(at(out[2]!, 'A', 'F')).toBeNaN();
    expect(at(out[2]!, 'F', 'F')).toBeNaN();
  });

  it('lists pairs above the diagonal with their sample size', async () => {
    const { out } = await run(minutes({ B: [100, 101, 100], A: [100, 101, 102], C: [1, 1.1, 1] }), { lookback: 5 });
    const pairs = [...correlationPairs(out.at(-1)!)];
    expect(pairs.map((p) => [p.a, p.b, p.returns])).toEqual([['A', 'B', 2], ['A', 'C', 2], ['B', 'C', 2]]);
    // Two returns each: A's fall a little, B's fall, C's fall: two points always lie on a line.
    expect(pairs.map((p) => Math.round(p.value))).toEqual([1, 1, 1]);
  });

  it('dead-letters a trade without a positive price and a symbol beyond maxSymbols', async () => {
    const { out, dead } = await run([t('A', T0, 100), t('B', T0, 0), t('B', T0, 50), t('C', T0, 3), t('A', T0 + MIN, 101), t('B', T0 + MIN, 51)], { lookback: 5, maxSymbols: 2 });
    expect(dead.map((d) => d.reason)).toEqual([expect.stringContaining('price > 0'), expect.stringContaining('maxSymbols (2)')]);
    expect(out.at(-1)!.symbols).toEqual(['A', 'B']);
  });

  it('types: takes a stream keyed by symbol and gives matrices (a compile error before keyBy)', () => {
    expectTypeOf(pipeline<Trade>().pipe(keyBy('symbol'), correlation({ lookback: 5 }))).toEqualTypeOf<PipelineBuilder<CorrelationMatrix, Trade, Keyed<string, Trade>>>();
    // @ts-expect-error correlation needs keyBy first
    expect(() => pipeline<Trade>().pipe(correlation({ lookback: 5 })).to(() => {})).toThrow(/keyBy/);
  });

  it('refuses an unkeyed stream, bad options, and a checkpoint of its state', () => {
    expect(() => pipeline<Trade>().pipe(correlation({ lookback: 5 }) as never).to(() => {})).toThrow(/keyBy/);
    expect(() => correlation({ lookback: 1 })).toThrow(TickflowError);
    expect(() => correlation({ lookback: 5, interval: '0s' })).toThrow(/interval/);
    const job = pipeline<Trade>().pipe(keyBy('symbol'), correlation({ lookback: 5 })).to(() => {});
    expect(job.snapshot(0).stages).toEqual([undefined]);
    job.push(t('A', T0, 100));
    expect(() => job.snapshot(0)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_FAILED' }));
  });

  it('fills the whole matrix for more symbols than a tile of pairs (150 symbols joining in scrambled order, some late)', async () => {
    const trades: Trade[] = [];
    const price = new Map<string, number>();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 8; k++) {
      for (let s = 0; s < 150; s++) {
        const sym = `S${String((s * 67) % 150).padStart(3, '0')}`;
        // A tenth of the symbols start trading in minute 3; some skip minutes.
        if ((s % 10 === 0 && k < 3) || rnd() < 0.1) continue;
        const p = (price.get(sym) ?? 50) * Math.exp((rnd() - 0.5) * 0.02);
        price.set(sym, p);
        trades.push(t(sym, T0 + k * MIN + 1_000 + s, p));
      }
    }
    const { out } = await run(trades, { lookback: 4 });
    const want = correlationOracle(trades, { interval: MIN, lookback: 4 });
    expect(out.map((m) => m.symbols)).toEqual(want.map((m) => m.symbols));
    expect(out.at(-1)!.symbols).toHaveLength(150);
    out.forEach((m, k) => {
      const n = m.symbols.length;
      const w = want[k]!.values;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const got = m.values[i * n + j]!;
        if (Number.isNaN(w[i]![j]!)) expect(got).toBeNaN();
        else expect(Math.abs(got - w[i]![j]!)).toBeLessThan(1e-9);
      }
    });
  });

  it('emits the same rows whether trades come one by one, in batches or as columns', async () => {
    const trades = minutes({ A: [100, 101, 99, 102, 104, 103], B: [50, 50.5, 49.5, 51, 52, 51], C: [10, 9.9, 10.1, 9.8, 9.6, 9.7] });
    const { toTradeColumns } = await import('@tickflow/core');
    const byOne = collect<CorrelationMatrix>();
    const j1 = pipeline<Trade>().pipe(keyBy('symbol'), correlation({ lookback: 3 })).to(byOne);
    for (const tr of trades) j1.push(tr);
    await j1.end();
    const cols = collect<CorrelationMatrix>();
    const j2 = pipeline<Trade>().pipe(keyBy('symbol'), correlation({ lookback: 3 })).to(cols);
    j2.pushColumns(toTradeColumns(trades));
    await j2.end();
    const { out } = await run(trades, { lookback: 3 });
    expect(byOne.values).toHaveLength(5);
    expect(cols.values).toEqual(byOne.values);
    expect(out).toEqual(byOne.values);
  });
});
