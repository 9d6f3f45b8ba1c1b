import { describe, expect, it } from 'vitest';
import type { Candle, Trade } from '@tickflow/core';
import { InMemoryMarketStore, Ring } from '../../src/server/marketStore.js';

const trade = (ts: number, price = 100, symbol = 'AAPL'): Trade => ({ symbol, ts, price, size: 1 });
const candle = (start: number, rev = 1, over: Partial<Candle> = {}): Candle => ({
  symbol: 'AAPL', timeframe: '1m', start, end: start + 60_000, open: 100, high: 101, low: 99, close: 100.5, volume: 10, trades: 2, vwap: 100.2, buyVolume: 5, sellVolume: 5, final: false, rev, ...over,
});

describe('Ring', () => {
  it('keeps the newest capacity values, oldest first', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.size).toBe(3);
    expect([r.at(0), r.at(1), r.at(2)]).toEqual([3, 4, 5]);
  });
});

describe('InMemoryMarketStore', () => {
  it('bounds raw trades per symbol and pages them by cursor within a time range', async () => {
    const s = new InMemoryMarketStore({ trades: 10 });
    s.addTrades(Array.from({ length: 25 }, (_, i) => trade(i * 1000)));
    s.addTrades([trade(0, 50, 'MSFT')]);
    const all = await s.trades({ symbol: 'AAPL', from: 0, to: Infinity, cursor: 0, limit: 100 });
    expect(all.trades.map((t) => t.ts)).toEqual(Array.from({ length: 10 }, (_, i) => (15 + i) * 1000));
    expect(all.nextCursor).toBeNull();
    const p1 = await s.trades({ symbol: 'AAPL', from: 16_000, to: 22_000, cursor: 0, limit: 4 });
    expect(p1.trades.map((t) => t.ts)).toEqual([16_000, 17_000, 18_000, 19_000]);
    const p2 = await s.trades({ symbol: 'AAPL', from: 16_000, to: 22_000, cursor: p1.nextCursor!, limit: 4 });
    expect(p2.trades.map((t) => t.ts)).toEqual([20_000, 21_000]);
    expect(p2.nextCursor).toBeNull();
    expect(await s.symbols()).toEqual(['AAPL', 'MSFT']);
    expect((await s.trades({ symbol: 'NONE', from: 0, to: Infinity, cursor: 0, limit: 5 })).trades).toEqual([]);
  });

  it('replaces a bar by a newer revision, ignores an older one, keeps bars ordered and bounded', async () => {
    const s = new InMemoryMarketStore({ bars: 3 });
    expect(s.upsertCandle(candle(120_000))).toBe(true);
    expect(s.upsertCandle(candle(0))).toBe(true);
    expect(s.upsertCandle(candle(60_000))).toBe(true);
    expect(s.upsertCandle(candle(60_000, 2, { close: 7 }))).toBe(true);
    expect(s.upsertCandle(candle(60_000, 1))).toBe(false);
    expect(s.upsertCandle(candle(180_000))).toBe(true);
    const bars = await s.candles({ symbol: 'AAPL', timeframe: '1m', from: 0, to: Infinity, limit: 10 });
    expect(bars.map((b) => [b.start, b.rev])).toEqual([[60_000, 2], [120_000, 1], [180_000, 1]]);
    expect(s.upsertCandle(candle(0))).toBe(false); // older than what is retained
    expect((await s.candles({ symbol: 'AAPL', timeframe: '1m', from: 0, to: Infinity, limit: 2 })).map((b) => b.start)).toEqual([120_000, 180_000]);
    expect((await s.candles({ symbol: 'AAPL', timeframe: '1m', from: 100_000, to: 180_000, limit: 10 })).map((b) => b.start)).toEqual([120_000]);
  });

  it('computes 24h stats from the last trade and the 1m bars of the day', async () => {
    const s = new InMemoryMarketStore();
    const now = 10 * 86_400_000;
    s.upsertCandle(candle(now - 2 * 86_400_000, 1, { open: 1, high: 1000, low: 0.5 })); // older than 24h: ignored
    s.upsertCandle(candle(now - 120_000, 1, { open: 100, high: 110, low: 95, volume: 10, vwap: 100, trades: 3 }));
    s.upsertCandle(candle(now - 60_000, 1, { open: 104, high: 108, low: 90, volume: 30, vwap: 104, trades: 5 }));
    s.addTrades([trade(now - 1000, 105)]);
    const st = await s.stats('AAPL', now);
    expect(st).toMatchObject({ last: 105, open24h: 100, change24h: 5, changePct24h: 5, high24h: 110, low24h: 90, volume24h: 40, vwap24h: 103, trades24h: 8 });
    expect(await s.stats('NONE', now)).toBeUndefined();
  });
});
