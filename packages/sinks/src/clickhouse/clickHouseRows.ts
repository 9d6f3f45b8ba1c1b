import type { Candle, TickCount, Trade, VolumeLevel, VolumeProfile } from '@tickflow/core';
import type { RowBinaryReader, RowBinaryWriter } from './rowBinary.js';

// Row encoders and decoders, one per table kind. The column order is the one
// of TRADE_COLUMNS, CANDLE_COLUMNS, … in clickHouseSchema.ts (the INSERT names
// the columns, and the unit tests round-trip every kind through both paths).

const SIDE_CODE = { buy: 1, sell: 2 } as const;

/** Writes one `trades_raw` row in RowBinary. */
export function encodeTrade(w: RowBinaryWriter, t: Trade, key: string): void {
  w.string(t.symbol);
  w.u64(t.ts);
  w.string(key);
  w.string(t.id ?? '');
  w.f64(t.price);
  w.f64(t.size);
  w.u8(t.side === undefined ? 0 : SIDE_CODE[t.side]);
  w.nullableF64(t.bid);
  w.nullableF64(t.ask);
}

/** Writes one `ohlc_<tf>` row in RowBinary. */
export function encodeCandle(w: RowBinaryWriter, c: Candle): void {
  w.string(c.symbol);
  w.u64(c.start);
  w.u64(c.end);
  w.f64(c.open);
  w.f64(c.high);
  w.f64(c.low);
  w.f64(c.close);
  w.f64(c.volume);
  w.u64(c.trades);
  w.f64(c.vwap);
  w.f64(c.buyVolume);
  w.f64(c.sellVolume);
  w.u8(c.final ? 1 : 0);
  w.u32(c.rev);
}

const levelPrice = (l: VolumeLevel): number => l.price;
const levelVolume = (l: VolumeLevel): number => l.volume;
const levelBuy = (l: VolumeLevel): number => l.buyVolume;
const levelSell = (l: VolumeLevel): number => l.sellVolume;

/** Writes one `volume_profile_<tf>` row in RowBinary. */
export function encodeVolumeProfile(w: RowBinaryWriter, v: VolumeProfile): void {
  w.string(v.symbol);
  w.u64(v.start);
  w.u64(v.end);
  w.f64(v.bucket);
  w.f64Array(v.levels, levelPrice);
  w.f64Array(v.levels, levelVolume);
  w.f64Array(v.levels, levelBuy);
  w.f64Array(v.levels, levelSell);
  w.f64(v.volume);
  w.f64(v.poc);
  w.f64(v.valueAreaLow);
  w.f64(v.valueAreaHigh);
  w.f64(v.valueAreaVolume);
  w.u8(v.final ? 1 : 0);
  w.u32(v.rev);
}

/** Writes one `tick_count_<tf>` row in RowBinary. */
export function encodeTickCount(w: RowBinaryWriter, t: TickCount): void {
  w.string(t.symbol);
  w.u64(t.start);
  w.u64(t.end);
  w.u64(t.trades);
  w.u64(t.buyTrades);
  w.u64(t.sellTrades);
  w.u8(t.final ? 1 : 0);
  w.u32(t.rev);
}

/** One `trades_raw` row for JSONEachRow (times as integer epoch ms, which DateTime64(3) also accepts). */
export function tradeJson(t: Trade, key: string): Record<string, unknown> {
  return { symbol: t.symbol, ts: t.ts, key, id: t.id ?? '', price: t.price, size: t.size, side: t.side ?? 'none', bid: t.bid ?? null, ask: t.ask ?? null };
}

/** One `ohlc_<tf>` row for JSONEachRow. */
export function candleJson(c: Candle): Record<string, unknown> {
  return {
    symbol: c.symbol,
    start: c.start,
    end: c.end,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    trades: c.trades,
    vwap: c.vwap,
    buy_volume: c.buyVolume,
    sell_volume: c.sellVolume,
    final: c.final ? 1 : 0,
    rev: c.rev,
  };
}

/** One `volume_profile_<tf>` row for JSONEachRow. */
export function volumeProfileJson(v: VolumeProfile): Record<string, unknown> {
  return {
    symbol: v.symbol,
    start: v.start,
    end: v.end,
    bucket: v.bucket,
    level_price: v.levels.map(levelPrice),
    level_volume: v.levels.map(levelVolume),
    level_buy_volume: v.levels.map(levelBuy),
    level_sell_volume: v.levels.map(levelSell),
    volume: v.volume,
    poc: v.poc,
    value_area_low: v.valueAreaLow,
    value_area_high: v.valueAreaHigh,
    value_area_volume: v.valueAreaVolume,
    final: v.final ? 1 : 0,
    rev: v.rev,
  };
}

/** One `tick_count_<tf>` row for JSONEachRow. */
export function tickCountJson(t: TickCount): Record<string, unknown> {
  return { symbol: t.symbol, start: t.start, end: t.end, trades: t.trades, buy_trades: t.buyTrades, sell_trades: t.sellTrades, final: t.final ? 1 : 0, rev: t.rev };
}

/** Reads one `trades_raw` row (selected in TRADE_COLUMNS order, times as epoch ms); optional fields only when stored. */
export function decodeTrade(r: RowBinaryReader): Trade {
  const symbol = r.string();
  const ts = r.u64();
  r.string(); // key
  const id = r.string();
  const price = r.f64();
  const size = r.f64();
  const side = r.u8();
  const bid = r.nullableF64();
  const ask = r.nullableF64();
  const t: Trade = { symbol, ts, price, size };
  if (side === 1) t.side = 'buy';
  else if (side === 2) t.side = 'sell';
  if (id !== '') t.id = id;
  if (bid !== undefined) t.bid = bid;
  if (ask !== undefined) t.ask = ask;
  return t;
}

/** Reads one `ohlc_<tf>` row. */
export function decodeCandle(r: RowBinaryReader, timeframe: string): Candle {
  const symbol = r.string();
  const start = r.u64();
  const end = r.u64();
  const open = r.f64();
  const high = r.f64();
  const low = r.f64();
  const close = r.f64();
  const volume = r.f64();
  const trades = r.u64();
  const vwap = r.f64();
  const buyVolume = r.f64();
  const sellVolume = r.f64();
  const final = r.u8() === 1;
  const rev = r.u32();
  return { symbol, timeframe, start, end, open, high, low, close, volume, trades, vwap, buyVolume, sellVolume, final, rev };
}

/** Reads one `volume_profile_<tf>` row. */
export function decodeVolumeProfile(r: RowBinaryReader, timeframe: string): VolumeProfile {
  const symbol = r.string();
  const start = r.u64();
  const end = r.u64();
  const bucket = r.f64();
  const price = r.f64Array();
  const vol = r.f64Array();
  const buy = r.f64Array();
  const sell = r.f64Array();
  const levels: VolumeLevel[] = new Array<VolumeLevel>(price.length);
  for (let i = 0; i < price.length; i++) levels[i] = { price: price[i]!, volume: vol[i] ?? 0, buyVolume: buy[i] ?? 0, sellVolume: sell[i] ?? 0 };
  const volume = r.f64();
  const poc = r.f64();
  const valueAreaLow = r.f64();
  const valueAreaHigh = r.f64();
  const valueAreaVolume = r.f64();
  const final = r.u8() === 1;
  const rev = r.u32();
  return { symbol, timeframe, start, end, bucket, levels, volume, poc, valueAreaLow, valueAreaHigh, valueAreaVolume, final, rev };
}

/** Reads one `tick_count_<tf>` row. */
export function decodeTickCount(r: RowBinaryReader, timeframe: string): TickCount {
  const symbol = r.string();
  const start = r.u64();
  const end = r.u64();
  const trades = r.u64();
  const buyTrades = r.u64();
  const sellTrades = r.u64();
  const final = r.u8() === 1;
  const rev = r.u32();
  return { symbol, timeframe, start, end, trades, buyTrades, sellTrades, final, rev };
}
