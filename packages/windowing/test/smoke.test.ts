import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import type { Candle, Trade } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { ohlcv, tumbling } from '../src/index.js';

describe('smoke', () => {
  it('builds 1m candles', async () => {
    const trades: Trade[] = [
      { symbol: 'A', ts: 0, price: 10, size: 1, side: 'buy' },
      { symbol: 'A', ts: 30_000, price: 12, size: 2, side: 'sell' },
      { symbol: 'B', ts: 30_000, price: 5, size: 2 },
      { symbol: 'A', ts: 60_000, price: 11, size: 1 },
    ];
    const out = collect<Candle>();
    const stats = await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv())).to(out).run();
    console.log(out.values, stats);
    expect(out.values.length).toBe(5);
  });
});
