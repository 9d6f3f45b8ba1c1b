import type { Candle, LateEvent, Trade } from '@tickflow/core';
import { collect, keyBy, pipeline } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ohlcv, tumbling } from '../src/index.js';

const T0 = Date.UTC(2024, 0, 19, 23, 55, 0);
const SYMBOLS = ['A', 'B', 'C', 'D', 'E', 'F'];
const inputOf = (symbol: string): number => SYMBOLS.indexOf(symbol) % 3;

/** Per input, a stream in arrival order (disorder up to `maxDelay` within the input); symbols never cross inputs. */
function perInputArb(maxDelay: number): fc.Arbitrary<Trade[][]> {
  const event = fc.record({
    symbol: fc.constantFrom(...SYMBOLS),
    gap: fc.integer({ min: 0, max: 6 }),
    cents: fc.integer({ min: 100, max: 200 }),
    size: fc.integer({ min: 0, max: 9 }),
    delay: fc.integer({ min: 0, max: maxDelay }),
  });
  return fc.array(event, { minLength: 1, maxLength: 250 }).map((evs) => {
    let ts = T0;
    const timed = evs.map((e, i) => {
      ts += e.gap * 4_000;
      return { t: { symbol: e.symbol, ts, price: e.cents / 100, size: e.size } as Trade, arrival: ts + e.delay, i };
    });
    timed.sort((a, b) => a.arrival - b.arrival || a.i - b.i);
    const out: Trade[][] = [[], [], []];
    for (const x of timed) out[inputOf(x.t.symbol)]!.push(x.t);
    return out;
  });
}

/** Interleaves the inputs in the order `picks` chooses (each pick takes the next 1–3 events of one input). */
function run(streams: readonly Trade[][], picks: readonly number[]): { last: Map<string, Candle>; late: string[] } {
  const out = collect<Candle>();
  const late = collect<LateEvent>();
  const job = pipeline<Trade>({ outOfOrderness: 5_000 }).pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m', '1d'], grace: '10s' }, ohlcv())).late(late).to(out);
  job.addInput();
  job.addInput();
  const at = [0, 0, 0];
  let p = 0;
  while (at.some((a, i) => a < streams[i]!.length)) {
    const pick = picks[p++ % picks.length]!;
    let input = pick % 3;
    while (at[input]! >= streams[input]!.length) input = (input + 1) % 3;
    const n = 1 + (Math.floor(pick / 3) % 3);
    const batch = streams[input]!.slice(at[input]!, at[input]! + n);
    at[input]! += batch.length;
    job.pushBatch(batch, input);
  }
  void job.end();
  const last = new Map<string, Candle>();
  for (const c of out.values) last.set(`${c.timeframe}|${c.symbol}|${c.start}`, c);
  return { last, late: late.values.map((l) => JSON.stringify(l.event)).sort() };
}

describe('several inputs (partitions): results do not depend on how the inputs interleave', () => {
  it('the same per-input streams in any interleaving give the same final rows (version included) and the same late events', () => {
    fc.assert(
      fc.property(perInputArb(40_000), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (streams, picksA, picksB) => {
        const a = run(streams, picksA);
        const b = run(streams, picksB);
        expect([...b.last.entries()].sort()).toEqual([...a.last.entries()].sort());
        expect(b.late).toEqual(a.late);
      }),
      { numRuns: 300 },
    );
  });

  it('an event late within its own input is late even while another input holds the pipeline watermark back', () => {
    const late = collect<LateEvent>();
    const out = collect<Candle>();
    const job = pipeline<Trade>({ outOfOrderness: 1_000 }).pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '5s' }, ohlcv())).late(late).to(out);
    const second = job.addInput();
    job.push({ symbol: 'B', ts: T0, price: 1, size: 1 }, second);
    job.push({ symbol: 'A', ts: T0 + 10_000, price: 1, size: 1 }, 0);
    job.push({ symbol: 'A', ts: T0 + 3 * 60_000, price: 1, size: 1 }, 0);
    // Input 1 still at T0: the pipeline watermark has not closed A's first minute, but input 0 has.
    job.push({ symbol: 'A', ts: T0 + 20_000, price: 2, size: 1 }, 0);
    expect(late.values.map((l) => l.event)).toEqual([{ symbol: 'A', ts: T0 + 20_000, price: 2, size: 1 }]);
  });
});
