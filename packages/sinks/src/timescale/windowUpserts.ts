import type { Candle, TickCount, VolumeLevel, VolumeProfile } from '@tickflow/core';
import { boolArrayLiteral, float8ArrayLiteral, int8ArrayLiteral, textArrayLiteral } from './pgArrayLiteral.js';

/** The array type a column's values travel in (one `unnest` parameter per column). */
export type PgArrayType = 'text' | 'float8' | 'int8' | 'bool';

/** One column of a window table: where its value comes from and how it is sent. */
export interface WindowColumn<R> {
  /** Column name in the table (tables of timescaleSchema.ts). */
  readonly column: string;
  readonly type: PgArrayType;
  /** `time`: epoch ms sent as float8, stored as timestamptz; `jsonb`: JSON text stored as jsonb. Default: stored as sent. */
  readonly as?: 'time' | 'jsonb';
  readonly value: (row: R) => string | number | boolean;
}

/** What every window row has: its key (symbol, timeframe, start), its end, `final` and `rev`. */
interface WindowRow {
  readonly symbol: string;
  readonly timeframe: string;
  readonly start: number;
  readonly end: number;
  readonly final: boolean;
  readonly rev: number;
}

/**
 * The upsert of one kind of window row, generated from its column table:
 * `INSERT … SELECT … FROM unnest(<one array per column>) ON CONFLICT
 * (symbol, timeframe, start) DO UPDATE SET <every other column>, written_at
 * = now() WHERE excluded.rev >= o.rev` (a lower revision never replaces a
 * higher one), and the rows → array parameters encoding that goes with it.
 */
export interface WindowUpsert<R> {
  /** Table name (in the store's schema). */
  readonly table: string;
  /** Plural noun for messages (`candles`). */
  readonly what: string;
  readonly columns: readonly WindowColumn<R>[];
  /** The statement for a schema; its parameters are `params(rows)`, in column order. */
  statement(schema: string): string;
  /** One array literal per column, in column order. */
  params(rows: readonly R[]): string[];
}

const KEY = ['symbol', 'timeframe', 'start'];

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

const LITERAL: Record<PgArrayType, (values: never[]) => string> = {
  text: textArrayLiteral,
  float8: float8ArrayLiteral,
  int8: int8ArrayLiteral,
  bool: boolArrayLiteral,
};

/**
 * Builds the upsert of a window table from the columns its rows add to the
 * common ones (symbol, timeframe, start, end, …, final, rev).
 *
 * @example
 * ```ts
 * const upsert = windowUpsert<TickCount>('tick_counts', 'tick counts', [{ column: 'trades', type: 'int8', value: (r) => r.trades }]);
 * await sql.unsafe(upsert.statement('public'), upsert.params(rows), { prepare: true });
 * ```
 */
export function windowUpsert<R extends WindowRow>(table: string, what: string, own: readonly WindowColumn<R>[]): WindowUpsert<R> {
  const columns: readonly WindowColumn<R>[] = [
    { column: 'symbol', type: 'text', value: (r) => r.symbol },
    { column: 'timeframe', type: 'text', value: (r) => r.timeframe },
    { column: 'start', type: 'float8', as: 'time', value: (r) => r.start },
    { column: 'end', type: 'float8', as: 'time', value: (r) => r.end },
    ...own,
    { column: 'final', type: 'bool', value: (r) => r.final },
    { column: 'rev', type: 'int8', value: (r) => r.rev },
  ];
  const names = columns.map((c) => quote(c.column)).join(', ');
  const selected = columns.map((c, i) => (c.as === 'time' ? `to_timestamp(u.c${i} / 1000.0)` : c.as === 'jsonb' ? `u.c${i}::jsonb` : `u.c${i}`)).join(', ');
  const arrays = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
  const aliases = columns.map((_, i) => `c${i}`).join(', ');
  const updates = columns
    .filter((c) => !KEY.includes(c.column))
    .map((c) => `${quote(c.column)} = excluded.${quote(c.column)}`)
    .concat('written_at = now()')
    .join(', ');
  const statements = new Map<string, string>();
  return {
    table,
    what,
    columns,
    statement(schema) {
      let text = statements.get(schema);
      if (text === undefined) {
        text =
          `INSERT INTO ${quote(schema)}.${quote(table)} AS o (${names}) SELECT ${selected} FROM unnest(${arrays}) AS u(${aliases}) ` +
          `ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${updates} WHERE excluded.rev >= o.rev`;
        statements.set(schema, text);
      }
      return text;
    },
    params(rows) {
      const n = rows.length;
      const out = new Array<string>(columns.length);
      for (let c = 0; c < columns.length; c++) {
        const { type, value } = columns[c]!;
        const values = new Array<string | number | boolean>(n);
        for (let i = 0; i < n; i++) values[i] = value(rows[i]!);
        out[c] = LITERAL[type](values as never[]);
      }
      return out;
    },
  };
}

/** Volume levels as the JSON text of the `levels` jsonb column. */
function levelsJson(levels: readonly VolumeLevel[]): string {
  let out = '[';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (i > 0) out += ',';
    out += `{"price":${l.price},"volume":${l.volume},"buyVolume":${l.buyVolume},"sellVolume":${l.sellVolume}}`;
  }
  return `${out}]`;
}

/** Candles into `ohlc`. */
export const CANDLE_UPSERT = windowUpsert<Candle>('ohlc', 'candles', [
  { column: 'open', type: 'float8', value: (r) => r.open },
  { column: 'high', type: 'float8', value: (r) => r.high },
  { column: 'low', type: 'float8', value: (r) => r.low },
  { column: 'close', type: 'float8', value: (r) => r.close },
  { column: 'volume', type: 'float8', value: (r) => r.volume },
  { column: 'trades', type: 'int8', value: (r) => r.trades },
  { column: 'vwap', type: 'float8', value: (r) => r.vwap },
  { column: 'buy_volume', type: 'float8', value: (r) => r.buyVolume },
  { column: 'sell_volume', type: 'float8', value: (r) => r.sellVolume },
]);

/** Volume profiles into `volume_profiles`. */
export const VOLUME_PROFILE_UPSERT = windowUpsert<VolumeProfile>('volume_profiles', 'volume profiles', [
  { column: 'bucket', type: 'float8', value: (r) => r.bucket },
  { column: 'levels', type: 'text', as: 'jsonb', value: (r) => levelsJson(r.levels) },
  { column: 'volume', type: 'float8', value: (r) => r.volume },
  { column: 'poc', type: 'float8', value: (r) => r.poc },
  { column: 'value_area_low', type: 'float8', value: (r) => r.valueAreaLow },
  { column: 'value_area_high', type: 'float8', value: (r) => r.valueAreaHigh },
  { column: 'value_area_volume', type: 'float8', value: (r) => r.valueAreaVolume },
]);

/** Tick counts into `tick_counts`. */
export const TICK_COUNT_UPSERT = windowUpsert<TickCount>('tick_counts', 'tick counts', [
  { column: 'trades', type: 'int8', value: (r) => r.trades },
  { column: 'buy_trades', type: 'int8', value: (r) => r.buyTrades },
  { column: 'sell_trades', type: 'int8', value: (r) => r.sellTrades },
]);
