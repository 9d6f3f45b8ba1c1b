// The ClickHouse equivalents of Timescale's ohlc_daily and volume_by_symbol,
// against a real ClickHouse 18.16 (@tickflow/test-services): candles built by
// @tickflow/windowing from a fixed trade set go in, and the daily bars and
// per-symbol volumes read back equal sums computed directly from the trades.
import { fromArray, keyBy, pipeline } from '@tickflow/core';
import type { Candle, Trade } from '@tickflow/core';
import { startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import { ohlcv, tumbling } from '@tickflow/windowing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStore, readClickHouseDailyOhlc, readClickHouseVolumeBySymbol } from '../../src/clickhouse/index.js';
import { testDatabase } from './marketData.js';

const H = 3_600_000;
const D = 86_400_000;
const T0 = Date.UTC(2024, 0, 18);

let server: ClickHouseService;
let store: ClickHouseStore;
const database = testDatabase('daily');

/** Three symbols over two and a half days (one stops after the first day), buys and sells, a few out of order. */
function trades(): Trade[] {
  let seed = 9;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const out: Trade[] = [];
  const price: Record<string, number> = { AAA: 100, BBB: 20, CCC: 5 };
  for (let t = T0; t < T0 + 2.5 * D; t += 131_000) {
    for (const s of ['AAA', 'BBB', 'CCC']) {
      if (s === 'CCC' && t > T0 + D) continue;
      price[s] = Math.round(price[s]! * Math.exp((rnd() - 0.5) * 0.01) * 100) / 100;
      out.push({ symbol: s, ts: t + Math.floor(rnd() * 900), price: price[s]!, size: 1 + Math.floor(rnd() * 50), side: rnd() < 0.5 ? 'buy' : 'sell' });
    }
  }
  return out;
}

const sum = (l: readonly Trade[], f: (t: Trade) => number): number => l.reduce((s, t) => s + f(t), 0);

beforeAll(async () => {
  server = await startClickHouse();
  store = await ClickHouseStore.connect({ url: server.url, database, timeframes: ['1h', '1d'], log: () => {} });
  const candles: Candle[] = [];
  await pipeline(fromArray(trades()), { outOfOrderness: '1s' })
    .pipe(keyBy('symbol'), tumbling({ size: ['1h', '1d'] }, ohlcv()))
    .to({ write: (b: readonly Candle[]) => void candles.push(...b) })
    .run();
  await store.writeCandles(candles);
}, 300_000);

afterAll(async () => {
  await store?.close();
  if (server !== undefined) {
    await fetch(`${server.url}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await server.stop();
  }
});

describe('ClickHouse daily readers', () => {
  it('reads daily bars (UTC days starting in [from, to)) equal to the trades of each day', async () => {
    const list = trades();
    const days = await readClickHouseDailyOhlc(store, { symbol: 'AAA', from: T0 + 1, to: T0 + 3 * D });
    expect(days.map((d) => d.start)).toEqual([T0 + D, T0 + 2 * D]);
    for (const d of days) {
      const own = list.filter((t) => t.symbol === 'AAA' && t.ts >= d.start && t.ts < d.end).sort((a, b) => a.ts - b.ts);
      expect(d).toMatchObject({ symbol: 'AAA', end: d.start + D, open: own[0]!.price, close: own.at(-1)!.price, high: Math.max(...own.map((t) => t.price)), low: Math.min(...own.map((t) => t.price)) });
      expect(d.volume).toBe(sum(own, (t) => t.size));
      expect(d.trades).toBe(own.length);
      expect(d.buyVolume).toBe(sum(own.filter((t) => t.side === 'buy'), (t) => t.size));
      expect(d.sellVolume).toBe(sum(own.filter((t) => t.side === 'sell'), (t) => t.size));
      expect(d.notional).toBeCloseTo(sum(own, (t) => t.price * t.size), 6);
    }
    expect(await readClickHouseDailyOhlc(store, { symbol: 'AAA', from: T0, to: T0 + 3 * D, limit: 1 })).toHaveLength(1);
    expect(await readClickHouseDailyOhlc(store, { symbol: 'NOPE', from: T0, to: T0 + 3 * D })).toEqual([]);
  });

  it('reads volume per symbol over the hours starting in [from, to), equal to the trades of those hours', async () => {
    const list = trades();
    const from = T0 + 20 * H;
    const to = T0 + D + 5 * H;
    const rows = await readClickHouseVolumeBySymbol(store, { from, to });
    expect(rows.map((r) => r.symbol)).toEqual(['AAA', 'BBB', 'CCC']);
    for (const r of rows) {
      const own = list.filter((t) => t.symbol === r.symbol && t.ts >= from && t.ts < to);
      expect(r.volume).toBe(sum(own, (t) => t.size));
      expect(r.trades).toBe(own.length);
      expect(r.buyVolume + r.sellVolume).toBe(r.volume);
      expect(r.notional).toBeCloseTo(sum(own, (t) => t.price * t.size), 6);
    }
    expect(await readClickHouseVolumeBySymbol(store, { from: T0 - D, to: T0 })).toEqual([]);
    await expect(readClickHouseVolumeBySymbol(store, { from: 5, to: 1 })).rejects.toThrow(/from ≤ to/);
  });
});
