import { TickflowError } from '@tickflow/core';
import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { Sql } from './timescaleBootstrap.js';
import { fail, onceMoreIfLost } from './timescaleErrors.js';
import type { DailyOhlc, SymbolVolume, TimescaleReadRange, TimescaleWindowRange } from './timescaleRows.js';

/** Epoch ms → timestamptz (exact: PostgreSQL rounds to the microsecond). */
const toTime = (column: string): string => `to_timestamp(${column} / 1000.0)`;
/** timestamptz → epoch ms as a double. */
const fromTime = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** The SQL row of a trade read back. */
interface TradeRecord {
  symbol: string;
  ts: number;
  price: number;
  size: number;
  side: 'buy' | 'sell' | null;
  trade_id: string | null;
  bid: number | null;
  ask: number | null;
}

/**
 * The reads of a Timescale store: plain SQL over the tables and views, times
 * as epoch ms (float8), counts as numbers.
 * @internal
 */
export class TimescaleReader {
  constructor(
    private readonly sql: Sql,
    /** Schema (namespace) of the tables. */
    private readonly s: string,
    /** The store's URL, for error messages (redacted there). */
    private readonly url: string,
  ) {}

  /** Trades of one symbol in [from, to), ordered by time (then key). */
  async readTrades({ symbol, from, to, limit }: TimescaleReadRange): Promise<Trade[]> {
    const rows = await this.read<TradeRecord>(
      'reading trades',
      `SELECT symbol, ${fromTime('time')} AS ts, price, size, side, trade_id, bid, ask FROM ${this.s}.trades
       WHERE symbol = $1 AND time >= ${toTime('$2::float8')} AND time < ${toTime('$3::float8')} ORDER BY time, trade_key${limitClause(limit)}`,
      [symbol, from, to],
    );
    const out: Trade[] = new Array<Trade>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const t: Trade = { symbol: r.symbol, ts: r.ts, price: r.price, size: r.size };
      if (r.side !== null) t.side = r.side;
      if (r.trade_id !== null) t.id = r.trade_id;
      if (r.bid !== null) t.bid = r.bid;
      if (r.ask !== null) t.ask = r.ask;
      out[i] = t;
    }
    return out;
  }

  /** Candles of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readCandles(range: TimescaleWindowRange): Promise<Candle[]> {
    return this.readWindows<Candle>('ohlc', 'open, high, low, close, volume, trades::float8 AS trades, vwap, buy_volume AS "buyVolume", sell_volume AS "sellVolume"', range);
  }

  /** Volume profiles of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readVolumeProfiles(range: TimescaleWindowRange): Promise<VolumeProfile[]> {
    return this.readWindows<VolumeProfile>(
      'volume_profiles',
      'bucket, levels, volume, poc, value_area_low AS "valueAreaLow", value_area_high AS "valueAreaHigh", value_area_volume AS "valueAreaVolume"',
      range,
    );
  }

  /** Tick counts of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readTickCounts(range: TimescaleWindowRange): Promise<TickCount[]> {
    return this.readWindows<TickCount>('tick_counts', 'trades::float8 AS trades, buy_trades::float8 AS "buyTrades", sell_trades::float8 AS "sellTrades"', range);
  }

  /**
   * Daily bars of one symbol from `ohlc_daily` (UTC days starting in
   * [from, to)), ordered by day. On TimescaleDB the continuous aggregate is
   * real-time (it includes trades not yet materialized); on plain PostgreSQL
   * the materialized view is as fresh as its last refresh
   * (`refreshAggregates()`).
   */
  async readDailyOhlc({ symbol, from, to, limit }: TimescaleReadRange): Promise<DailyOhlc[]> {
    return this.read<DailyOhlc>(
      'reading ohlc_daily',
      `SELECT symbol, ${fromTime('day')} AS start, ${fromTime("day + INTERVAL '1 day'")} AS "end", open, high, low, close, volume, notional,
         buy_volume AS "buyVolume", sell_volume AS "sellVolume", trades::float8 AS trades
       FROM ${this.s}.ohlc_daily WHERE symbol = $1 AND day >= ${toTime('$2::float8')} AND day < ${toTime('$3::float8')} ORDER BY day${limitClause(limit)}`,
      [symbol, from, to],
    );
  }

  /** Volume per symbol over the hours starting in [from, to), from `volume_by_symbol`, ordered by symbol. */
  async readVolumeBySymbol({ from, to }: { readonly from: number; readonly to: number }): Promise<SymbolVolume[]> {
    return this.read<SymbolVolume>(
      'reading volume_by_symbol',
      `SELECT symbol, sum(volume)::float8 AS volume, sum(notional)::float8 AS notional, sum(buy_volume)::float8 AS "buyVolume",
         sum(sell_volume)::float8 AS "sellVolume", sum(trades)::float8 AS trades
       FROM ${this.s}.volume_by_symbol WHERE hour >= ${toTime('$1::float8')} AND hour < ${toTime('$2::float8')} GROUP BY symbol ORDER BY symbol`,
      [from, to],
    );
  }

  /** Windows with start in [from, to), ordered by start; with `limit`, the newest `limit` of them (what a chart wants). */
  private async readWindows<T>(table: string, columns: string, { symbol, timeframe, from, to, limit }: TimescaleWindowRange): Promise<T[]> {
    const select = `SELECT symbol, timeframe, ${fromTime('start')} AS start, ${fromTime('"end"')} AS "end", final, rev, ${columns}, start AS start_time
       FROM ${this.s}.${table} WHERE symbol = $1 AND timeframe = $2 AND start >= ${toTime('$3::float8')} AND start < ${toTime('$4::float8')}`;
    const rows = await this.read<T & { start_time?: unknown }>(
      `reading ${table}`,
      limit === undefined ? `${select} ORDER BY start` : `SELECT * FROM (${select} ORDER BY start DESC${limitClause(limit)}) newest ORDER BY start_time`,
      [symbol, timeframe, from, to],
    );
    for (const r of rows) delete r.start_time;
    return rows;
  }

  private async read<T>(what: string, text: string, params: (string | number)[]): Promise<T[]> {
    try {
      const rows = await onceMoreIfLost(() => this.sql.unsafe(text, params));
      return rows as unknown as T[];
    } catch (e) {
      throw fail(e, `${what} from schema ${this.s}`, this.url);
    }
  }
}

function limitClause(limit: number | undefined): string {
  if (limit === undefined) return '';
  if (!Number.isInteger(limit) || limit < 0) throw new TickflowError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${limit}`);
  return ` LIMIT ${limit}`;
}
