import type { Candle } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { LiveCandleStore } from './liveCandleStore.js';

const c = (start: number, rev: number, close: number, symbol = 'A'): Candle => ({
  symbol, timeframe: '1m', start, end: start + 60_000, open: 1, high: 2, low: 1, close, volume: 1, trades: 1, vwap: 1, buyVolume: 0, sellVolume: 0, final: false, rev,
});

describe('LiveCandleStore', () => {
  it('replaces a bar by start, ignores older revisions, keeps bars ordered and bounded', () => {
    const s = new LiveCandleStore(3);
    s.upsert(c(0, 1, 1));
    s.upsert(c(60_000, 1, 2));
    expect(s.upsert(c(0, 2, 5))).toBe(true);
    expect(s.upsert(c(0, 1, 9))).toBe(false);
    s.upsert(c(120_000, 1, 3));
    s.upsert(c(180_000, 1, 4));
    expect(s.candles('A', '1m').map((x) => [x.start, x.close])).toEqual([
      [60_000, 2],
      [120_000, 3],
      [180_000, 4],
    ]);
    s.upsert(c(0, 1, 1, 'B'));
    expect(s.latest('1m').map((x) => x.symbol)).toEqual(['A', 'B']);
  });
});
