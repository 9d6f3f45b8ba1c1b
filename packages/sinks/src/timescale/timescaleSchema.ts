import { TickflowError } from '@tickflow/core';

/**
 * How the store lays out its tables: `timescale` (hypertables, compression
 * and retention policies, continuous aggregates) or `postgres` (ordinary
 * tables and materialized views on a server without the extension).
 */
export type TimescaleMode = 'timescale' | 'postgres';

/** Settings of the schema the store creates. */
export interface TimescaleSchemaOptions {
  readonly mode: TimescaleMode;
  /** PostgreSQL schema (namespace) that holds the tables. Default `public`. */
  readonly schema?: string;
  /** Chunk interval of the `trades` hypertable in ms. Default 1 hour. */
  readonly chunkIntervalMs?: number;
  /** Age after which `trades` chunks are compressed, in ms. Default 48 hours. */
  readonly compressAfterMs?: number;
  /** Age after which `trades` chunks are dropped, in ms. Default 730 days (two years). */
  readonly retentionMs?: number;
  /** How often the continuous aggregates are refreshed, in ms. Default 1 minute. */
  readonly refreshEveryMs?: number;
}

/** The DDL of one mode, in the order it must run. */
export interface TimescaleSchema {
  readonly mode: TimescaleMode;
  readonly schema: string;
  /** Idempotent statements (safe to run again on an existing schema), each run on its own (continuous aggregates cannot be created inside a transaction). */
  readonly statements: readonly string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name: lower-case letters, digits and `_`, so it needs no quoting anywhere.
 *
 * @example
 * ```ts
 * checkSchemaName('market'); // 'market'; 'My-Schema' throws INVALID_ARGUMENT
 * ```
 */
export function checkSchemaName(schema: string): string {
  if (!IDENT_RE.test(schema)) {
    throw new TickflowError('INVALID_ARGUMENT', `schema must be a lower-case PostgreSQL identifier (letters, digits, _; at most 63 characters), got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/**
 * A PostgreSQL interval literal for a whole number of milliseconds, in the largest exact unit.
 *
 * @example
 * ```ts
 * intervalLiteral(172_800_000); // "INTERVAL '2 days'"
 * ```
 */
export function intervalLiteral(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new TickflowError('INVALID_ARGUMENT', `an interval must be a positive whole number of milliseconds, got ${ms}`);
  const units: [number, string][] = [
    [DAY, 'days'],
    [HOUR, 'hours'],
    [60_000, 'minutes'],
    [1_000, 'seconds'],
    [1, 'milliseconds'],
  ];
  for (const [size, name] of units) {
    if (ms % size === 0) return `INTERVAL '${ms / size} ${name}'`;
  }
  return `INTERVAL '${ms} milliseconds'`;
}

/** Columns every windowed table starts with. */
const WINDOW_COLUMNS = `symbol text NOT NULL,
  timeframe text NOT NULL,
  start timestamptz NOT NULL,
  "end" timestamptz NOT NULL`;

/** Columns every windowed table ends with. */
const REVISION_COLUMNS = `final boolean NOT NULL,
  rev integer NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (symbol, timeframe, start)`;

/**
 * The DDL of the store's tables for one mode: a pure function of its
 * options, so what each mode creates can be read and tested without a
 * server.
 *
 * Both modes create
 * - `trades`: `time timestamptz` (exact for epoch milliseconds, what
 *   `time_bucket`, chunking and the policies expect without an integer-now
 *   function), symbol, `trade_key` (the exchange id or the TradeKeyer key),
 *   price, size, side, `trade_id`, bid, ask; the unique index
 *   (symbol, time DESC, trade_key) is both the idempotency key and the
 *   (symbol, time DESC) lookup index; indexes on (price) and (time DESC);
 * - `ohlc`, `volume_profiles`, `tick_counts`: one row per
 *   (symbol, timeframe, start), with `final` and `rev`;
 * - `ohlc_daily` (symbol, day: open, high, low, close, volume, notional,
 *   buy_volume, sell_volume, trades) and `volume_by_symbol` (the same sums per
 *   symbol and hour) over `trades`.
 *
 * `timescale` makes `trades` a hypertable (1-hour chunks, compressed after 48
 * hours segmented by symbol, dropped after two years), the windowed tables
 * hypertables with 1-day chunks, and the two views real-time continuous
 * aggregates refreshed every minute. `postgres` makes them ordinary tables
 * and materialized views (with unique indexes, refreshed concurrently by the
 * store).
 *
 * @example
 * ```ts
 * const { statements } = timescaleSchema({ mode: 'postgres', schema: 'market' });
 * for (const s of statements) await sql.unsafe(s);
 * ```
 */
export function timescaleSchema(options: TimescaleSchemaOptions): TimescaleSchema {
  const { mode, chunkIntervalMs = HOUR, compressAfterMs = 48 * HOUR, retentionMs = 730 * DAY, refreshEveryMs = 60_000 } = options;
  const schema = checkSchemaName(options.schema ?? 'public');
  const s = schema;
  const ts = mode === 'timescale';
  const out: string[] = [`CREATE SCHEMA IF NOT EXISTS ${s}`];

  out.push(`CREATE TABLE IF NOT EXISTS ${s}.trades (
  time timestamptz NOT NULL,
  symbol text NOT NULL,
  trade_key text NOT NULL,
  price double precision NOT NULL,
  size double precision NOT NULL,
  side text CHECK (side IN ('buy', 'sell')),
  trade_id text,
  bid double precision,
  ask double precision
)`);
  if (ts) out.push(`SELECT create_hypertable('${s}.trades', 'time', chunk_time_interval => ${intervalLiteral(chunkIntervalMs)}, create_default_indexes => false, if_not_exists => true)`);
  out.push(`CREATE UNIQUE INDEX IF NOT EXISTS trades_symbol_time_key ON ${s}.trades (symbol, time DESC, trade_key)`);
  out.push(`CREATE INDEX IF NOT EXISTS trades_price_idx ON ${s}.trades (price)`);
  out.push(`CREATE INDEX IF NOT EXISTS trades_time_idx ON ${s}.trades (time DESC)`);
  if (ts) {
    // Compression settings cannot be changed once chunks are compressed: set them only once.
    out.push(`DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = '${s}' AND hypertable_name = 'trades' AND compression_enabled) THEN
    ALTER TABLE ${s}.trades SET (timescaledb.compress, timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'time DESC, trade_key');
  END IF;
END
$$`);
    out.push(`SELECT add_compression_policy('${s}.trades', ${intervalLiteral(compressAfterMs)}, if_not_exists => true)`);
    out.push(`SELECT add_retention_policy('${s}.trades', ${intervalLiteral(retentionMs)}, if_not_exists => true)`);
  }

  const windowed: [string, string][] = [
    [
      'ohlc',
      `open double precision NOT NULL,
  high double precision NOT NULL,
  low double precision NOT NULL,
  close double precision NOT NULL,
  volume double precision NOT NULL,
  trades bigint NOT NULL,
  vwap double precision NOT NULL,
  buy_volume double precision NOT NULL,
  sell_volume double precision NOT NULL`,
    ],
    [
      'volume_profiles',
      `bucket double precision NOT NULL,
  levels jsonb NOT NULL,
  volume double precision NOT NULL,
  poc double precision NOT NULL,
  value_area_low double precision NOT NULL,
  value_area_high double precision NOT NULL,
  value_area_volume double precision NOT NULL`,
    ],
    [
      'tick_counts',
      `trades bigint NOT NULL,
  buy_trades bigint NOT NULL,
  sell_trades bigint NOT NULL`,
    ],
  ];
  for (const [table, columns] of windowed) {
    out.push(`CREATE TABLE IF NOT EXISTS ${s}.${table} (
  ${WINDOW_COLUMNS},
  ${columns},
  ${REVISION_COLUMNS}
)`);
    if (ts) out.push(`SELECT create_hypertable('${s}.${table}', 'start', chunk_time_interval => ${intervalLiteral(DAY)}, if_not_exists => true)`);
  }

  const sums = `sum(size) AS volume,
  sum(price * size) AS notional,
  coalesce(sum(size) FILTER (WHERE side = 'buy'), 0) AS buy_volume,
  coalesce(sum(size) FILTER (WHERE side = 'sell'), 0) AS sell_volume,
  count(*) AS trades`;
  if (ts) {
    const cagg = (name: string, bucket: string, column: string, extra: string): string => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s}.${name}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT symbol,
  time_bucket(${bucket}, time) AS ${column},
  ${extra}${sums}
FROM ${s}.trades
GROUP BY symbol, ${column}
WITH NO DATA`;
    out.push(cagg('ohlc_daily', `INTERVAL '1 day'`, 'day', 'first(price, time) AS open,\n  max(price) AS high,\n  min(price) AS low,\n  last(price, time) AS close,\n  '));
    out.push(cagg('volume_by_symbol', `INTERVAL '1 hour'`, 'hour', ''));
    // Real-time aggregates (materialized_only = false) answer from the raw
    // trades above the last refresh, so the policy only keeps reads cheap;
    // its window reaches 3 days back to pick up late trades.
    for (const name of ['ohlc_daily', 'volume_by_symbol']) {
      out.push(`SELECT add_continuous_aggregate_policy('${s}.${name}', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute', schedule_interval => ${intervalLiteral(refreshEveryMs)}, if_not_exists => true)`);
    }
  } else {
    // Buckets aligned to UTC whatever the session's time zone.
    const utc = (unit: string): string => `date_trunc('${unit}', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
    out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${s}.ohlc_daily AS
SELECT symbol,
  ${utc('day')} AS day,
  (array_agg(price ORDER BY time, trade_key))[1] AS open,
  max(price) AS high,
  min(price) AS low,
  (array_agg(price ORDER BY time DESC, trade_key DESC))[1] AS close,
  ${sums}
FROM ${s}.trades
GROUP BY 1, 2`);
    out.push(`CREATE UNIQUE INDEX IF NOT EXISTS ohlc_daily_key ON ${s}.ohlc_daily (symbol, day)`);
    out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${s}.volume_by_symbol AS
SELECT symbol,
  ${utc('hour')} AS hour,
  ${sums}
FROM ${s}.trades
GROUP BY 1, 2`);
    out.push(`CREATE UNIQUE INDEX IF NOT EXISTS volume_by_symbol_key ON ${s}.volume_by_symbol (symbol, hour)`);
  }
  return { mode, schema, statements: out };
}

/** The names of the aggregate views over `trades`, in refresh order (`for (const v of AGGREGATE_VIEWS) …`). */
export const AGGREGATE_VIEWS = ['ohlc_daily', 'volume_by_symbol'] as const;
