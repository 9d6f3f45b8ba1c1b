import { TickflowError } from '@tickflow/core';

/**
 * What a ClickHouse server can do that the schema depends on, decided from
 * its version.
 */
export interface ClickHouseCapabilities {
  /** The server's version string (`SELECT version()`). */
  readonly version: string;
  /** Table TTL (`TTL … + INTERVAL …`): ClickHouse ≥ 19.6. */
  readonly ttl: boolean;
  /**
   * `DateTime64(3, 'UTC')` time columns with the ms conversion functions
   * `toUnixTimestamp64Milli` / `fromUnixTimestamp64Milli` the reads use:
   * ClickHouse ≥ 20.5 (DateTime64 itself came in 20.1, the functions in 20.5).
   * Otherwise times are `UInt64` epoch milliseconds.
   */
  readonly dateTime64: boolean;
  /** `LowCardinality(String)` without the experimental setting: ClickHouse ≥ 19.0. Otherwise `String`. */
  readonly lowCardinality: boolean;
}

function atLeast(version: readonly number[], major: number, minor: number): boolean {
  const [a = 0, b = 0] = version;
  return a > major || (a === major && b >= minor);
}

/**
 * Decides the capabilities of a server from its version string.
 *
 * @example
 * ```ts
 * clickHouseCapabilities('18.16.1'); // { version: '18.16.1', ttl: false, dateTime64: false, lowCardinality: false }
 * clickHouseCapabilities('24.8.4.13').ttl; // true
 * ```
 */
export function clickHouseCapabilities(version: string): ClickHouseCapabilities {
  const match = /^\s*(\d+)\.(\d+)/.exec(version);
  if (match === null) {
    throw new TickflowError('INVALID_ARGUMENT', `cannot read the ClickHouse version "${version.slice(0, 40)}": expected something like "23.8.1.2992"`);
  }
  const v = [Number(match[1]), Number(match[2])];
  return { version: version.trim(), ttl: atLeast(v, 19, 6), dateTime64: atLeast(v, 20, 5), lowCardinality: atLeast(v, 19, 0) };
}

/** How a column is stored; the SQL type depends on the capabilities. */
export type ColumnKind = 'symbol' | 'time' | 'string' | 'f64' | 'nullableF64' | 'u32' | 'u64' | 'bool' | 'side' | 'f64Array';

/** One column of a table. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** Which event a table holds. */
export type TableKind = 'trades' | 'candles' | 'volumeProfiles' | 'tickCounts';

/** One table of the schema: its columns (in insert order), key and DDL. */
export interface TableSpec {
  readonly kind: TableKind;
  /** Table name without the database (`trades_raw`, `ohlc_1m`, …). */
  readonly name: string;
  /** Timeframe label of an aggregate table (`'1m'`), undefined for trades. */
  readonly timeframe: string | undefined;
  readonly columns: readonly ColumnSpec[];
  /** The time column reads filter and sort on (`ts` or `start`). */
  readonly timeColumn: string;
  /** `CREATE TABLE IF NOT EXISTS …` for these capabilities. */
  readonly ddl: string;
}

/** Options of the schema (see ClickHouseStoreOptions). */
export interface ClickHouseSchemaOptions {
  readonly database: string;
  /** Candle timeframes: one `ohlc_<tf>` table each. */
  readonly timeframes: readonly string[];
  /** Volume profile timeframes: one `volume_profile_<tf>` table each. */
  readonly profileTimeframes: readonly string[];
  /** Tick count timeframes: one `tick_count_<tf>` table each. */
  readonly tickCountTimeframes: readonly string[];
  /** Retention of `trades_raw` in ms where the server has TTL; undefined for none. */
  readonly tradesTtlMs: number | undefined;
}

/** The schema for one server: database DDL and the tables by name. */
export interface ClickHouseSchema {
  readonly capabilities: ClickHouseCapabilities;
  readonly database: string;
  /** Every statement to run, in order (database first). Each is idempotent (`IF NOT EXISTS`). */
  readonly statements: readonly string[];
  readonly trades: TableSpec;
  /** Aggregate tables by timeframe label. */
  readonly candles: ReadonlyMap<string, TableSpec>;
  readonly volumeProfiles: ReadonlyMap<string, TableSpec>;
  readonly tickCounts: ReadonlyMap<string, TableSpec>;
  /** What was chosen and why, one line for the log. */
  readonly summary: string;
}

const WINDOW_HEAD: readonly ColumnSpec[] = [
  { name: 'symbol', kind: 'symbol' },
  { name: 'start', kind: 'time' },
  { name: 'end', kind: 'time' },
];
const WINDOW_TAIL: readonly ColumnSpec[] = [
  { name: 'final', kind: 'bool' },
  { name: 'rev', kind: 'u32' },
];

/** Columns of `trades_raw`, in insert order. `key` is the TradeKeyer key; `id` the exchange id or ''. */
export const TRADE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'symbol', kind: 'symbol' },
  { name: 'ts', kind: 'time' },
  { name: 'key', kind: 'string' },
  { name: 'id', kind: 'string' },
  { name: 'price', kind: 'f64' },
  { name: 'size', kind: 'f64' },
  { name: 'side', kind: 'side' },
  { name: 'bid', kind: 'nullableF64' },
  { name: 'ask', kind: 'nullableF64' },
];

/** Columns of `ohlc_<tf>`, in insert order. */
export const CANDLE_COLUMNS: readonly ColumnSpec[] = [
  ...WINDOW_HEAD,
  { name: 'open', kind: 'f64' },
  { name: 'high', kind: 'f64' },
  { name: 'low', kind: 'f64' },
  { name: 'close', kind: 'f64' },
  { name: 'volume', kind: 'f64' },
  { name: 'trades', kind: 'u64' },
  { name: 'vwap', kind: 'f64' },
  { name: 'buy_volume', kind: 'f64' },
  { name: 'sell_volume', kind: 'f64' },
  ...WINDOW_TAIL,
];

/** Columns of `volume_profile_<tf>`, in insert order: the levels as parallel arrays. */
export const VOLUME_PROFILE_COLUMNS: readonly ColumnSpec[] = [
  ...WINDOW_HEAD,
  { name: 'bucket', kind: 'f64' },
  { name: 'level_price', kind: 'f64Array' },
  { name: 'level_volume', kind: 'f64Array' },
  { name: 'level_buy_volume', kind: 'f64Array' },
  { name: 'level_sell_volume', kind: 'f64Array' },
  { name: 'volume', kind: 'f64' },
  { name: 'poc', kind: 'f64' },
  { name: 'value_area_low', kind: 'f64' },
  { name: 'value_area_high', kind: 'f64' },
  { name: 'value_area_volume', kind: 'f64' },
  ...WINDOW_TAIL,
];

/** Columns of `tick_count_<tf>`, in insert order. */
export const TICK_COUNT_COLUMNS: readonly ColumnSpec[] = [
  ...WINDOW_HEAD,
  { name: 'trades', kind: 'u64' },
  { name: 'buy_trades', kind: 'u64' },
  { name: 'sell_trades', kind: 'u64' },
  ...WINDOW_TAIL,
];

/** The SQL type of a column kind on a server with these capabilities. */
export function columnType(kind: ColumnKind, caps: ClickHouseCapabilities): string {
  switch (kind) {
    case 'symbol':
      return caps.lowCardinality ? 'LowCardinality(String)' : 'String';
    case 'time':
      return caps.dateTime64 ? "DateTime64(3, 'UTC')" : 'UInt64';
    case 'string':
      return 'String';
    case 'f64':
      return 'Float64';
    case 'nullableF64':
      return 'Nullable(Float64)';
    case 'u32':
      return 'UInt32';
    case 'u64':
      return 'UInt64';
    case 'bool':
      return 'UInt8';
    case 'side':
      return "Enum8('none' = 0, 'buy' = 1, 'sell' = 2)";
    case 'f64Array':
      return 'Array(Float64)';
  }
}

/** Quotes an identifier for ClickHouse (backticks). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** Quotes a string literal for ClickHouse. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A DateTime (seconds) expression of a time column, for PARTITION BY and TTL. */
function asDateTime(column: string, caps: ClickHouseCapabilities): string {
  return caps.dateTime64 ? `toDateTime(${column})` : `toDateTime(intDiv(${column}, 1000))`;
}

/** SQL expression reading a time column as epoch milliseconds. */
export function timeToMs(column: string, caps: ClickHouseCapabilities): string {
  return caps.dateTime64 ? `toUnixTimestamp64Milli(${column})` : column;
}

/** SQL literal of epoch milliseconds comparable with a time column. */
export function msToTime(ms: number, caps: ClickHouseCapabilities): string {
  if (!Number.isSafeInteger(ms)) throw new TickflowError('INVALID_ARGUMENT', `time bounds must be integer epoch milliseconds, got ${ms}`);
  return caps.dateTime64 ? `fromUnixTimestamp64Milli(toInt64(${ms}), 'UTC')` : String(ms);
}

function interval(ms: number): string {
  if (ms % 86_400_000 === 0) return `INTERVAL ${ms / 86_400_000} DAY`;
  if (ms % 1_000 === 0) return `INTERVAL ${ms / 1_000} SECOND`;
  throw new TickflowError('INVALID_ARGUMENT', `the trades TTL must be a whole number of seconds, got ${ms} ms`);
}

const TABLE_SUFFIX = /^[0-9]+(ms|s|m|h|d|w)$/;

function tableName(prefix: string, timeframe: string): string {
  if (!TABLE_SUFFIX.test(timeframe)) {
    throw new TickflowError('INVALID_ARGUMENT', `timeframe "${timeframe}" cannot name a table: use labels like "1m", "5m", "1h"`);
  }
  return `${prefix}_${timeframe}`;
}

function createTable(database: string, name: string, columns: readonly ColumnSpec[], caps: ClickHouseCapabilities, tail: string): string {
  const cols = columns.map((c) => `  ${quoteIdent(c.name)} ${columnType(c.kind, caps)}`).join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(name)}\n(\n${cols}\n)\n${tail}`;
}

function aggregateTable(kind: TableKind, prefix: string, columns: readonly ColumnSpec[], timeframe: string, o: ClickHouseSchemaOptions, caps: ClickHouseCapabilities): TableSpec {
  const name = tableName(prefix, timeframe);
  // ReplacingMergeTree(rev): one row per (symbol, start) after merges, the highest rev
  // kept; reads use FINAL so a duplicate or an older rev never shows before a merge.
  const tail = `ENGINE = ReplacingMergeTree(rev)\nPARTITION BY toYYYYMM(${asDateTime('start', caps)})\nORDER BY (symbol, start)`;
  return { kind, name, timeframe, columns, timeColumn: 'start', ddl: createTable(o.database, name, columns, caps, tail) };
}

/**
 * The whole ClickHouse schema for a server with these capabilities: a pure
 * function, so the DDL for old and new servers can be unit-tested.
 *
 * - `trades_raw`: ReplacingMergeTree ordered by (symbol, ts, key), so a trade
 *   written twice collapses to one row (reads use FINAL); daily partitions;
 *   `TTL` of `tradesTtlMs` where the server has TTL (else drop old partitions).
 * - `ohlc_<tf>`, `volume_profile_<tf>`, `tick_count_<tf>`:
 *   ReplacingMergeTree(rev) keyed (symbol, start), monthly partitions.
 *
 * @example
 * ```ts
 * const schema = clickHouseSchema(clickHouseCapabilities('18.16.1'), {
 *   database: 'tickflow', timeframes: ['1m', '5m'], profileTimeframes: ['1m'], tickCountTimeframes: ['1m'], tradesTtlMs: 7 * 86_400_000,
 * });
 * schema.statements.forEach((sql) => console.log(sql));
 * ```
 */
export function clickHouseSchema(caps: ClickHouseCapabilities, o: ClickHouseSchemaOptions): ClickHouseSchema {
  const ttl = caps.ttl && o.tradesTtlMs !== undefined ? `\nTTL ${asDateTime('ts', caps)} + ${interval(o.tradesTtlMs)}` : '';
  const trades: TableSpec = {
    kind: 'trades',
    name: 'trades_raw',
    timeframe: undefined,
    columns: TRADE_COLUMNS,
    timeColumn: 'ts',
    ddl: createTable(o.database, 'trades_raw', TRADE_COLUMNS, caps, `ENGINE = ReplacingMergeTree\nPARTITION BY toYYYYMMDD(${asDateTime('ts', caps)})\nORDER BY (symbol, ts, key)${ttl}`),
  };
  const candles = new Map(o.timeframes.map((tf) => [tf, aggregateTable('candles', 'ohlc', CANDLE_COLUMNS, tf, o, caps)] as const));
  const volumeProfiles = new Map(o.profileTimeframes.map((tf) => [tf, aggregateTable('volumeProfiles', 'volume_profile', VOLUME_PROFILE_COLUMNS, tf, o, caps)] as const));
  const tickCounts = new Map(o.tickCountTimeframes.map((tf) => [tf, aggregateTable('tickCounts', 'tick_count', TICK_COUNT_COLUMNS, tf, o, caps)] as const));
  const statements = [`CREATE DATABASE IF NOT EXISTS ${quoteIdent(o.database)}`, trades.ddl, ...[...candles.values(), ...volumeProfiles.values(), ...tickCounts.values()].map((t) => t.ddl)];
  const summary = [
    `ClickHouse ${caps.version}`,
    caps.ttl ? (o.tradesTtlMs === undefined ? 'trades_raw without TTL (disabled)' : `trades_raw TTL ${interval(o.tradesTtlMs).toLowerCase()}`) : 'no TTL support (< 19.6): trades_raw keeps rows until old daily partitions are dropped',
    caps.dateTime64 ? "times as DateTime64(3, 'UTC')" : 'times as UInt64 epoch ms (no DateTime64 with ms functions before 20.5)',
    caps.lowCardinality ? 'symbols as LowCardinality(String)' : 'symbols as String (LowCardinality needs ≥ 19.0)',
  ].join('; ');
  return { capabilities: caps, database: o.database, statements, trades, candles, volumeProfiles, tickCounts, summary };
}
