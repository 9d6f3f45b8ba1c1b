import type { Candle } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { candleProblem, quoteProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from './rowValidation.js';

const trade = { symbol: 'AAPL', ts: 1_700_000_000_000, price: 150.25, size: 10 };
const window = { symbol: 'AAPL', timeframe: '1m', start: 60_000, end: 120_000, final: true, rev: 1 };
const candle: Candle = { ...window, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, trades: 3, vwap: 1.2, buyVolume: 6, sellVolume: 4 };

describe('row validation', () => {
  it('accepts well-formed rows of every kind', () => {
    expect(tradeProblem(trade)).toBeUndefined();
    expect(tradeProblem({ ...trade, side: 'sell', id: 'T1' })).toBeUndefined();
    expect(candleProblem(candle)).toBeUndefined();
    expect(quoteProblem({ symbol: 'AAPL', ts: 1, bid: 1, ask: 1.01, bidSize: 5, askSize: 0 })).toBeUndefined();
    expect(tickCountProblem({ ...window, trades: 3, buyTrades: 2, sellTrades: 1 })).toBeUndefined();
    expect(volumeProfileProblem({ ...window, bucket: 0.05, levels: [{ price: 1, volume: 2, buyVolume: 1, sellVolume: 1 }], volume: 2, poc: 1, valueAreaLow: 1, valueAreaHigh: 1, valueAreaVolume: 2 })).toBeUndefined();
  });

  it('names the field and the value of a bad trade', () => {
    expect(tradeProblem({ ...trade, price: Number.NaN })).toBe('price must be a finite number, got NaN');
    expect(tradeProblem({ ...trade, price: Number.POSITIVE_INFINITY })).toBe('price must be a finite number, got Infinity');
    expect(tradeProblem({ ...trade, price: 0 })).toBe('price must be > 0, got 0');
    expect(tradeProblem({ ...trade, size: -5 })).toBe('size must be ≥ 0, got -5');
    expect(tradeProblem({ ...trade, symbol: 'S'.repeat(40) })).toMatch(/^symbol must be at most 32 characters, got 40/);
    expect(tradeProblem({ ...trade, symbol: 'A B' })).toMatch(/printable ASCII characters without spaces, got "A B"/);
    expect(tradeProblem({ ...trade, ts: 1.5 })).toMatch(/^ts must be epoch milliseconds/);
    expect(tradeProblem({ ...trade, side: 'long' as 'buy' })).toBe('side must be "buy" or "sell", got "long"');
    expect(tradeProblem(null as unknown as typeof trade)).toBe('a trade must be an object, got null');
  });

  it('rejects inconsistent candles', () => {
    expect(candleProblem({ ...candle, high: 0.1 })).toBe('high (0.1) must be ≥ low (0.5)');
    expect(candleProblem({ ...candle, end: 60_000 })).toBe('end (60000) must be after start (60000)');
    expect(candleProblem({ ...candle, rev: 0 })).toBe('rev must be an integer ≥ 1, got 0');
    expect(candleProblem({ ...candle, timeframe: 'weekly' })).toMatch(/^timeframe must be a duration like "1m"/);
    expect(candleProblem({ ...candle, vwap: Number.NaN })).toBe('vwap must be a finite number, got NaN');
    expect(candleProblem({ ...candle, volume: -1 })).toBe('volume must be ≥ 0, got -1');
  });

  it('checks every level of a volume profile', () => {
    const profile = { ...window, bucket: 0.05, levels: [{ price: 1, volume: 2, buyVolume: 1, sellVolume: 1 }, { price: 1.05, volume: -2, buyVolume: 0, sellVolume: 0 }], volume: 2, poc: 1, valueAreaLow: 1, valueAreaHigh: 1, valueAreaVolume: 2 };
    expect(volumeProfileProblem(profile)).toBe('levels[1].volume must be ≥ 0, got -2');
    expect(volumeProfileProblem({ ...profile, bucket: 0 })).toBe('bucket must be > 0, got 0');
  });
});
