import type { Candle } from '@tickflow/core';

// Daily bars and volume per symbol as the Timescale store reads them from its
// views (timescale/timescaleReader.ts), and how to make the same rows from
// candles (the ClickHouse readers in clickhouse/dailyReaders.ts, the
// dashboard's embedded mode): driver-free, on the package root.

/** One day of one symbol from the `ohlc_daily` view (UTC days). */
export interface DailyOhlc {
  readonly symbol: string;
  /** Start of the UTC day, epoch ms. */
  readonly start: number;
  /** End of the UTC day (exclusive), epoch ms. */
  readonly end: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** Σ price × size. */
  readonly notional: number;
  readonly buyVolume: number;
  readonly sellVolume: number;
  readonly trades: number;
}

/** Volume of one symbol over a range, from the `volume_by_symbol` view (hourly buckets). */
export interface SymbolVolume {
  readonly symbol: string;
  readonly volume: number;
  readonly notional: number;
  readonly buyVolume: number;
  readonly sellVolume: number;
  readonly trades: number;
}

/**
 * Sums candles per symbol into SymbolVolume rows (notional = vwap × volume),
 * ordered by symbol.
 *
 * @example
 * ```ts
 * volumeBySymbol(hourlyCandles); // [{ symbol: 'AAPL', volume, notional, buyVolume, sellVolume, trades }, …]
 * ```
 */
export function volumeBySymbol(candles: readonly Candle[]): SymbolVolume[] {
  const by = new Map<string, { volume: number; notional: number; buyVolume: number; sellVolume: number; trades: number }>();
  for (const c of candles) {
    let v = by.get(c.symbol);
    if (v === undefined) {
      v = { volume: 0, notional: 0, buyVolume: 0, sellVolume: 0, trades: 0 };
      by.set(c.symbol, v);
    }
    v.volume += c.volume;
    v.notional += c.vwap * c.volume;
    v.buyVolume += c.buyVolume;
    v.sellVolume += c.sellVolume;
    v.trades += c.trades;
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([symbol, v]) => ({ symbol, ...v }));
}

/**
 * A `1d` candle as a DailyOhlc row (notional = vwap × volume).
 *
 * @example
 * ```ts
 * dailyCandles.map(dailyOf);
 * ```
 */
export function dailyOf(c: Candle): DailyOhlc {
  return { symbol: c.symbol, start: c.start, end: c.end, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, notional: c.vwap * c.volume, buyVolume: c.buyVolume, sellVolume: c.sellVolume, trades: c.trades };
}
