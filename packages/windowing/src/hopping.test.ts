import type { Candle, Trade } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { hopping, ohlcv } from './index.js';

const MIN = 60_000;

describe('hopping', () => {
  it('adds each trade to every window that contains it', async () => {
    const out = collect<Candle>();
    const trades: Trade[] = [
      { symbol: 'A', ts: 30_000, price: 1, size: 1 },
      { symbol: 'A', ts: 90_000, price: 2, size: 1 },
      { symbol: 'A', ts: 150_000, price: 3, size: 1 },
    ];
    await pipeline(fromArray(trades)).pipe(keyBy('symbol'), hopping({ size: '2m', hop: '1m' }, ohlcv())).to(out).run();
    expect(out.values.map((c) => [c.timeframe, c.start, c.end, c.trades, c.open, c.close])).toEqual([
      ['2m', -MIN, MIN, 1, 1, 1],
      ['2m', 0, 2 * MIN, 2, 1, 2],
      ['2m', MIN, 3 * MIN, 2, 2, 3],
      ['2m', 2 * MIN, 4 * MIN, 1, 3, 3],
    ]);
  });

  it('rejects a hop longer than the size', () => {
    expect(() => hopping({ size: '1m', hop: '2m' }, ohlcv())).toThrow(/hop 2m is longer than size 1m/);
  });
});
