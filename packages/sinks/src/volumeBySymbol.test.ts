import type { Candle } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { dailyOf, volumeBySymbol } from './volumeBySymbol.js';

const candle = (symbol: string, start: number, volume: number, vwap: number, buyVolume: number, trades: number): Candle => ({
  symbol, timeframe: '1h', start, end: start + 3_600_000, open: vwap, high: vwap + 1, low: vwap - 1, close: vwap, volume, trades, vwap, buyVolume, sellVolume: volume - buyVolume, final: true, rev: 1,
});

describe('volumeBySymbol', () => {
  it('gives nothing for no candles', () => {
    expect(volumeBySymbol([])).toEqual([]);
  });

  it('sums volume, notional (vwap × volume), buy/sell volume and trades per symbol, ordered by symbol', () => {
    const rows = volumeBySymbol([candle('MSFT', 0, 10, 400, 4, 3), candle('AAPL', 0, 5, 150, 5, 2), candle('MSFT', 3_600_000, 20, 410, 15, 7)]);
    expect(rows).toEqual([
      { symbol: 'AAPL', volume: 5, notional: 750, buyVolume: 5, sellVolume: 0, trades: 2 },
      { symbol: 'MSFT', volume: 30, notional: 4_000 + 8_200, buyVolume: 19, sellVolume: 11, trades: 10 },
    ]);
  });
});

describe('dailyOf', () => {
  it('turns a 1d candle into a daily row with notional = vwap × volume', () => {
    const c = { ...candle('AAPL', 86_400_000, 8, 150.5, 3, 4), timeframe: '1d', end: 2 * 86_400_000 };
    expect(dailyOf(c)).toEqual({ symbol: 'AAPL', start: 86_400_000, end: 172_800_000, open: 150.5, high: 151.5, low: 149.5, close: 150.5, volume: 8, notional: 1_204, buyVolume: 3, sellVolume: 5, trades: 4 });
  });
});
