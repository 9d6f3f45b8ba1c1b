import type { Trade, VolumeProfile } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tumbling, volumeProfile } from './index.js';
import { VolumeProfileAggregator } from './volumeProfile.js';
import { levelIndex, valueAreaOf } from './extend/index.js';

const t = (ts: number, price: number, size: number, side?: 'buy' | 'sell'): Trade => (side ? { symbol: 'A', ts, price, size, side } : { symbol: 'A', ts, price, size });

async function profile(trades: Trade[], step: number): Promise<VolumeProfile[]> {
  const out = collect<VolumeProfile>();
  await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: '1m' }, volumeProfile({ step }))).to(out).run();
  return out.values;
}

describe('volumeProfile', () => {
  it('prices a level as Number((idx × step).toFixed(decimals)) does, for any step and index (property)', () => {
    const steps = fc.oneof(
      fc.constantFrom(0.01, 0.05, 0.1, 0.25, 0.3, 1, 5, 2.5, 0.001, 0.0001, 1e-7, 1e-12, 1e-13, 0.125, 100, 0.07),
      fc.integer({ min: 1, max: 10_000 }).chain((u) => fc.integer({ min: 0, max: 8 }).map((d) => Number((u / 10 ** d).toFixed(d)))),
      fc.double({ min: 1e-6, max: 1e4, noNaN: true }),
    );
    const idxs = fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: -(2 ** 45), max: 2 ** 45 }), fc.constantFrom(0, -0, 1, -1));
    fc.assert(
      fc.property(steps, idxs, (step, idx) => {
        const agg = new VolumeProfileAggregator({ step });
        // The rounding the aggregator promises: the step's decimal places (its private field), as toFixed rounds.
        const decimals = (agg as unknown as { decimals: number }).decimals;
        expect(Object.is(agg.levelPrice(idx), Number((idx * step).toFixed(decimals)))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('puts a price exactly on a level edge on that level despite floating point (0.3 / 0.1 = 2.9999999999999996)', () => {
    expect(0.3 / 0.1).toBeLessThan(3);
    expect(levelIndex(150.05, 0.05)).toBe(3001);
    expect(levelIndex(150.0499, 0.05)).toBe(3000);
    expect(levelIndex(-0.05, 0.05)).toBe(-1);
    expect(levelIndex(0.3, 0.1)).toBe(3);
  });

  it('sums volume per level by side, with the POC and a 70% value area', async () => {
    const [p] = await profile(
      [t(0, 100.0, 10, 'buy'), t(1, 100.02, 5, 'sell'), t(2, 100.05, 40, 'buy'), t(3, 100.1, 30, 'sell'), t(4, 100.15, 5), t(5, 100.2, 10, 'buy')],
      0.05,
    );
    expect(p!.levels).toEqual([
      { price: 100, volume: 15, buyVolume: 10, sellVolume: 5 },
      { price: 100.05, volume: 40, buyVolume: 40, sellVolume: 0 },
      { price: 100.1, volume: 30, buyVolume: 0, sellVolume: 30 },
      { price: 100.15, volume: 5, buyVolume: 0, sellVolume: 0 },
      { price: 100.2, volume: 10, buyVolume: 10, sellVolume: 0 },
    ]);
    expect(p!.volume).toBe(100);
    expect(p!.poc).toBe(100.05);
    // 40 (POC) + 30 above = 70 ≥ 70% of 100.
    expect([p!.valueAreaLow, p!.valueAreaHigh, p!.valueAreaVolume]).toEqual([100.05, 100.1, 70]);
  });

  it('breaks POC ties toward the lowest price and grows the value area both ways on a tie', () => {
    const lv = (volume: number) => ({ price: 0, volume, buyVolume: 0, sellVolume: 0 });
    expect(valueAreaOf([lv(10), lv(50), lv(10)], 1, 70)).toEqual([0, 2, 70]);
    expect(valueAreaOf([lv(5), lv(50), lv(20)], 1, 52.5)).toEqual([1, 2, 70]);
    expect(valueAreaOf([], 0, 0)).toEqual([0, 0, 0]);
  });

  it('rejects a step that is not a positive number', () => {
    expect(() => volumeProfile({ step: 0 })).toThrow(/step must be a finite number > 0/);
    expect(() => volumeProfile({ step: 0.05, valueArea: 1.5 })).toThrow(/valueArea/);
  });
});
