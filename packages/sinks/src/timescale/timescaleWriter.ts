import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { TradeKeyOf } from '../tradeKey.js';
import type { Sql } from './timescaleBootstrap.js';
import { fail, onceMoreIfLost } from './timescaleErrors.js';
import { float8ArrayLiteral, textArrayLiteral } from './pgArrayLiteral.js';
import { CANDLE_UPSERT, TICK_COUNT_UPSERT, VOLUME_PROFILE_UPSERT } from './windowUpserts.js';
import type { WindowUpsert } from './windowUpserts.js';

/** Keeps one row per (symbol, timeframe, start): the highest rev, the later one on a tie (an upsert may touch a key once per statement). */
function latestPerWindow<T extends { symbol: string; timeframe: string; start: number; rev: number }>(rows: readonly T[]): readonly T[] {
  const at = new Map<string, number>();
  let duplicates = false;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const key = `${r.symbol}\u0000${r.timeframe}\u0000${r.start}`;
    const j = at.get(key);
    if (j === undefined) at.set(key, i);
    else {
      duplicates = true;
      if (r.rev >= rows[j]!.rev) at.set(key, i);
    }
  }
  if (!duplicates) return rows;
  const keep = [...at.values()].sort((a, b) => a - b);
  return keep.map((i) => rows[i]!);
}

/** Most rows per statement: keeps array parameters and server memory moderate. */
const ROWS_PER_STATEMENT = 50_000;

/**
 * The writes of a Timescale store: one statement per batch (`unnest` of one
 * array parameter per column), every one idempotent, tried once more on a
 * new connection when the pooled one turned out dead. Rows are validated
 * before they get here.
 * @internal
 */
export class TimescaleWriter {
  constructor(
    private readonly sql: Sql,
    /** Schema (namespace) of the tables. */
    private readonly s: string,
    /** The store's URL, for error messages (redacted there). */
    private readonly url: string,
  ) {}

  /** Writes trades keyed by `keyOf`, `ON CONFLICT DO NOTHING`, at most ROWS_PER_STATEMENT rows per statement. */
  async insertTrades(rows: readonly Trade[], keyOf: TradeKeyOf): Promise<void> {
    for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
      const n = Math.min(ROWS_PER_STATEMENT, rows.length - from);
      const ts = new Array<number>(n);
      const symbols = new Array<string>(n);
      const keys = new Array<string>(n);
      const prices = new Array<number>(n);
      const sizes = new Array<number>(n);
      const sides = new Array<string | null>(n);
      const ids = new Array<string | null>(n);
      const bids = new Array<number | null>(n);
      const asks = new Array<number | null>(n);
      for (let i = 0; i < n; i++) {
        const t = rows[from + i]!;
        ts[i] = t.ts;
        symbols[i] = t.symbol;
        keys[i] = keyOf(t);
        prices[i] = t.price;
        sizes[i] = t.size;
        sides[i] = t.side ?? null;
        ids[i] = t.id === undefined || t.id === '' ? null : t.id;
        bids[i] = t.bid ?? null;
        asks[i] = t.ask ?? null;
      }
      const sql = this.sql;
      try {
        await onceMoreIfLost(() => sql`
          INSERT INTO ${sql(this.s)}.trades (time, symbol, trade_key, price, size, side, trade_id, bid, ask)
          SELECT to_timestamp(u.t / 1000.0), u.symbol, u.k, u.price, u.size, u.side, u.id, u.bid, u.ask
          FROM unnest(${float8ArrayLiteral(ts)}::float8[], ${textArrayLiteral(symbols)}::text[], ${textArrayLiteral(keys)}::text[],
                      ${float8ArrayLiteral(prices)}::float8[], ${float8ArrayLiteral(sizes)}::float8[], ${textArrayLiteral(sides)}::text[],
                      ${textArrayLiteral(ids)}::text[], ${float8ArrayLiteral(bids)}::float8[], ${float8ArrayLiteral(asks)}::float8[])
            AS u(t, symbol, k, price, size, side, id, bid, ask)
          ON CONFLICT DO NOTHING`);
      } catch (e) {
        throw fail(e, `writing ${n} trades to ${this.s}.trades`, this.url);
      }
    }
  }

  /** Upserts candles (the highest rev of each window in the batch) where the new rev ≥ the stored one. */
  upsertCandles(rows: readonly Candle[]): Promise<void> {
    return this.upsertWindows(CANDLE_UPSERT, rows);
  }

  /** Upserts volume profiles as candles. */
  upsertVolumeProfiles(rows: readonly VolumeProfile[]): Promise<void> {
    return this.upsertWindows(VOLUME_PROFILE_UPSERT, rows);
  }

  /** Upserts tick counts as candles. */
  upsertTickCounts(rows: readonly TickCount[]): Promise<void> {
    return this.upsertWindows(TICK_COUNT_UPSERT, rows);
  }

  /** One statement per batch; a window present twice in the batch goes once, at its highest rev (an upsert may touch a key once per statement). */
  private async upsertWindows<R extends { symbol: string; timeframe: string; start: number; rev: number }>(upsert: WindowUpsert<R>, all: readonly R[]): Promise<void> {
    const rows = latestPerWindow(all);
    const n = rows.length;
    if (n === 0) return;
    const text = upsert.statement(this.s);
    const params = upsert.params(rows);
    try {
      await onceMoreIfLost(() => this.sql.unsafe(text, params, { prepare: true }));
    } catch (e) {
      throw fail(e, `writing ${n} ${upsert.what} to ${this.s}.${upsert.table}`, this.url);
    }
  }
}
