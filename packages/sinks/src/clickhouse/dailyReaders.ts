import { TickflowError } from '@tickflow/core';
import type { Candle } from '@tickflow/core';
import { dailyOf, volumeBySymbol } from '../volumeBySymbol.js';
import type { DailyOhlc, SymbolVolume } from '../volumeBySymbol.js';

/** What the ClickHouse daily readers need of a store: its candle reads (ClickHouseStore has them). */
export interface ClickHouseCandleReader {
  readCandles(range: { readonly symbol?: string | undefined; readonly from?: number | undefined; readonly to?: number | undefined; readonly timeframe: string }): Promise<Candle[]>;
}

/**
 * The ClickHouse equivalent of Timescale's `ohlc_daily`: daily bars of one
 * symbol (UTC days starting in [from, to)), from the store's final-or-latest
 * `1d` candles, in the shape of `TimescaleStore.readDailyOhlc` (notional =
 * vwap × volume). The store must keep the `1d` timeframe.
 *
 * @example
 * ```ts
 * const days = await readClickHouseDailyOhlc(store, { symbol: 'AAPL', from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 1, 1) });
 * ```
 */
export async function readClickHouseDailyOhlc(store: ClickHouseCandleReader, { symbol, from, to, limit }: { readonly symbol: string; readonly from: number; readonly to: number; readonly limit?: number | undefined }): Promise<DailyOhlc[]> {
  checkRange(from, to);
  const candles = await store.readCandles({ symbol, timeframe: '1d', from, to });
  const out = candles.map(dailyOf);
  return limit !== undefined && out.length > limit ? out.slice(0, limit) : out;
}

/**
 * The ClickHouse equivalent of Timescale's `volume_by_symbol` read: volume,
 * notional, buy/sell volume and trade count per symbol over the UTC hours
 * starting in [from, to), summed from the store's `1h` candles of every
 * symbol (every shard), ordered by symbol. The store must keep the `1h`
 * timeframe.
 *
 * @example
 * ```ts
 * const rows = await readClickHouseVolumeBySymbol(store, { from: Date.UTC(2024, 0, 19), to: Date.UTC(2024, 0, 20) });
 * ```
 */
export async function readClickHouseVolumeBySymbol(store: ClickHouseCandleReader, { from, to }: { readonly from: number; readonly to: number }): Promise<SymbolVolume[]> {
  checkRange(from, to);
  const candles = await store.readCandles({ timeframe: '1h', from, to });
  return volumeBySymbol(candles);
}

function checkRange(from: number, to: number): void {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) throw new TickflowError('INVALID_ARGUMENT', `a range needs finite from ≤ to (epoch ms), got from ${from} and to ${to}`);
}
