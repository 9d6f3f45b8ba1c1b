import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import type { Candle, Duration, TickCount, Trade, VolumeLevel, VolumeProfile } from '@tickflow/core';
import postgres from 'postgres';
import { z } from 'zod';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkOptions, SinkTarget } from '../batchingSink.js';
import { candleProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from '../rowValidation.js';
import { TradeKeyer } from '../tradeKey.js';
import type { TradeKeyOf } from '../tradeKey.js';
import type { CheckpointStore } from '@tickflow/core/kafka';
import { timescaleCheckpoints } from './timescaleCheckpoints.js';
import { TimescaleCorrelationMatrices } from './correlationMatrices.js';
import { boolArrayLiteral, float8ArrayLiteral, int8ArrayLiteral, textArrayLiteral } from './pgArrayLiteral.js';
import { AGGREGATE_VIEWS, checkSchemaName, timescaleSchema } from './timescaleSchema.js';
import type { TimescaleMode } from './timescaleSchema.js';

type Sql = postgres.Sql<Record<string, never>>;

const DurationSchema = z.union([z.number().nonnegative(), z.string()]);

/**
 * zod schema of TimescaleStoreOptions (without `log`, which is a function).
 *
 * @example
 * ```ts
 * const parsed = TimescaleStoreOptionsSchema.safeParse({ url: 'postgres://postgres@127.0.0.1:5432/postgres', schema: 'market' });
 * ```
 */
export const TimescaleStoreOptionsSchema = z
  .object({
    /** PostgreSQL URL (`postgres://user:password@host:port/database`). */
    url: z.string().min(1, 'url must be a postgres:// URL'),
    /** Schema (namespace) of the tables. Default `public`. */
    schema: z.string().default('public'),
    /** `auto` (TimescaleDB when the extension can be created, else plain PostgreSQL), `timescale` (fail without it) or `postgres` (plain tables even where TimescaleDB is available). Default `auto`. */
    mode: z.enum(['auto', 'timescale', 'postgres']).default('auto'),
    /** Connections in the pool. Default 4 (1 on a PGlite server, which serves one connection at a time). */
    maxConnections: z.number().int().positive().default(4),
    /** Longest wait for a connection. Default 10 s. */
    connectTimeout: DurationSchema.default('10s'),
    /** Create the tables, indexes, policies and views when missing. Default true. */
    createSchema: z.boolean().default(true),
    /** Chunk interval of the trades hypertable. Default 1 h. */
    chunkInterval: DurationSchema.default('1h'),
    /** Compress trades chunks older than this. Default 48 h. */
    compressAfter: DurationSchema.default('48h'),
    /** Drop trades chunks older than this. Default 730 d (two years). */
    retention: DurationSchema.default('730d'),
    /** Refresh of ohlc_daily and volume_by_symbol: the continuous-aggregate policy's interval, or on plain PostgreSQL the store's own timer (`false`: only `refreshAggregates()`). Default 1 m. */
    aggregateRefresh: z.union([DurationSchema, z.literal(false)]).default('1m'),
  })
  .strict();

/** Options of `TimescaleStore.connect` (see TimescaleStoreOptionsSchema for defaults). */
export type TimescaleStoreOptions = z.input<typeof TimescaleStoreOptionsSchema> & {
  /** Where the store says what it chose at start-up (default console.info). */
  readonly log?: ((message: string) => void) | undefined;
};

/** The kinds of rows a Timescale sink takes. */
export type TimescaleSinkKind = 'trades' | 'candles' | 'volumeProfiles' | 'tickCounts';

/** The row type of each sink kind. */
export interface TimescaleRowOfKind {
  trades: Trade;
  candles: Candle;
  volumeProfiles: VolumeProfile;
  tickCounts: TickCount;
}

/** A time range of one symbol: `from` inclusive, `to` exclusive, UTC epoch ms. */
export interface TimescaleReadRange {
  readonly symbol: string;
  readonly from: number;
  readonly to: number;
  /** Most rows returned (the earliest). Default: all. */
  readonly limit?: number;
}

/** A range of one symbol's windows of one timeframe (by window start). */
export interface TimescaleWindowRange extends TimescaleReadRange {
  readonly timeframe: string;
}

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

interface ParsedOptions {
  readonly url: string;
  readonly schema: string;
  readonly mode: 'auto' | TimescaleMode;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly createSchema: boolean;
  readonly chunkIntervalMs: number;
  readonly compressAfterMs: number;
  readonly retentionMs: number;
  readonly aggregateRefreshMs: number | false;
}

function ms(value: Duration | string | number, what: string): number {
  try {
    return typeof value === 'number' ? value : parseDuration(value, what);
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${describeError(e)}`, { cause: e });
  }
}

/** Validates store options; throws `INVALID_ARGUMENT` saying what to change. @internal */
export function parseTimescaleStoreOptions(options: TimescaleStoreOptions): ParsedOptions {
  const { log: _log, ...rest } = options;
  const parsed = TimescaleStoreOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
  }
  const o = parsed.data;
  if (!/^postgres(ql)?:\/\//.test(o.url)) throw new TickflowError('INVALID_ARGUMENT', `url must start with postgres:// or postgresql://, got ${JSON.stringify(redact(o.url))}`);
  const positive = (value: number, what: string): number => {
    if (value <= 0) throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${what} must be > 0`);
    return value;
  };
  return {
    url: o.url,
    schema: checkSchemaName(o.schema),
    mode: o.mode,
    maxConnections: o.maxConnections,
    connectTimeoutMs: positive(ms(o.connectTimeout, 'connectTimeout'), 'connectTimeout'),
    createSchema: o.createSchema,
    chunkIntervalMs: positive(ms(o.chunkInterval, 'chunkInterval'), 'chunkInterval'),
    compressAfterMs: positive(ms(o.compressAfter, 'compressAfter'), 'compressAfter'),
    retentionMs: positive(ms(o.retention, 'retention'), 'retention'),
    aggregateRefreshMs: o.aggregateRefresh === false ? false : positive(ms(o.aggregateRefresh, 'aggregateRefresh'), 'aggregateRefresh'),
  };
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/** What a driver error means, and what to do about it. */
function explain(e: unknown, url: string): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const text = describeError(e);
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing accepts connections at ${redact(url)} (${text}): start the server or fix the url`;
    case 'CONNECT_TIMEOUT':
      return `no connection to ${redact(url)} within the connect timeout (${text}): is the server up and reachable? (a PGlite server takes one connection at a time)`;
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_ENDED':
    case 'CONNECTION_DESTROYED':
    case 'ECONNRESET':
    case '57P01':
      return `the connection to ${redact(url)} was lost (${text})`;
    case '28P01':
    case '28000':
      return `the server refused the credentials in the url (${text})`;
    case '3D000':
      return `the database in the url does not exist (${text})`;
    default:
      return code !== '' && !text.includes(code) ? `${text} (${code})` : text;
  }
}

/**
 * The driver's error without its bound parameters (postgres.js keeps every
 * parameter of the failed query on the error: a whole batch of rows), so a
 * logged TickflowError stays readable.
 */
function lightCause(e: unknown): unknown {
  if (!(e instanceof Error) || !('parameters' in e || 'args' in e)) return e;
  const out = new Error(e.message);
  out.name = e.name;
  const src = e as unknown as Record<string, unknown>;
  for (const key of ['code', 'severity', 'detail', 'hint', 'position', 'schema_name', 'table_name', 'column_name', 'constraint_name', 'routine']) {
    if (src[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = src[key];
  }
  if (typeof src.query === 'string') (out as unknown as Record<string, unknown>).query = src.query.length > 500 ? `${src.query.slice(0, 500)}…` : src.query;
  out.stack = e.stack;
  return out;
}

function fail(e: unknown, what: string, url: string): TickflowError {
  if (e instanceof TickflowError) return e;
  return new TickflowError('SINK_FAILED', `timescale store: ${what} failed: ${explain(e, url)}`, { cause: lightCause(e) });
}

const LOST_CONNECTION = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03']);

/**
 * Runs an idempotent operation, once more when the connection it used turned
 * out to be dead (a restarted server closes every pooled connection; the pool
 * opens a new one for the second try).
 */
async function onceMoreIfLost<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !LOST_CONNECTION.has(code)) throw e;
    return run();
  }
}

/** Epoch ms → timestamptz (exact: PostgreSQL rounds to the microsecond). */
const toTime = (column: string): string => `to_timestamp(${column} / 1000.0)`;
/** timestamptz → epoch ms as a double. */
const fromTime = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

function rowProblem(kind: TimescaleSinkKind, row: unknown): string | undefined {
  switch (kind) {
    case 'trades':
      return tradeProblem(row as Trade);
    case 'candles':
      return candleProblem(row as Candle);
    case 'volumeProfiles':
      return volumeProfileProblem(row as VolumeProfile);
    case 'tickCounts':
      return tickCountProblem(row as TickCount);
  }
}

const KIND_TABLE: Record<TimescaleSinkKind, string> = { trades: 'trades', candles: 'ohlc', volumeProfiles: 'volume_profiles', tickCounts: 'tick_counts' };

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
 * Trades, candles, volume profiles and tick counts in TimescaleDB, or in
 * plain PostgreSQL when the server has no timescaledb extension (detected at
 * start-up and logged), over the `postgres` driver.
 *
 * - `trades` is a hypertable with 1-hour chunks, compressed after 48 hours
 *   and dropped after two years; `ohlc_daily` and `volume_by_symbol` are
 *   real-time continuous aggregates refreshed every minute. On plain
 *   PostgreSQL the same tables are ordinary tables and the two views are
 *   materialized views the store refreshes (see `timescaleSchema`).
 * - Writes are idempotent and go in one statement per batch (`unnest` of
 *   one array per column): trades `ON CONFLICT DO NOTHING` on
 *   (symbol, time, trade_key); windows upserted on (symbol, timeframe, start)
 *   where the new `rev` ≥ the stored one, so a lower revision never replaces a
 *   higher one.
 * - Every driver error comes out as a `TickflowError` saying what failed;
 *   an operation whose pooled connection a server restart killed is tried
 *   once more on a new one (every write is idempotent).
 * - On a PGlite server (one connection at a time) the store uses a pool of
 *   one and holds it until `close()`: other clients wait until then.
 *
 * @example
 * ```ts
 * const store = await TimescaleStore.connect({ url: 'postgres://postgres@127.0.0.1:5432/postgres' });
 * await pipeline(syntheticTrades({ count: 100_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()))
 *   .to(store.sink('candles'))
 *   .run();
 * const candles = await store.readCandles({ symbol: 'SYM0001', timeframe: '1m', from: 0, to: Date.now() });
 * await store.close();
 * ```
 */
export class TimescaleStore {
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly s: string;

  private constructor(
    private readonly sql: Sql,
    private readonly options: ParsedOptions,
    /** The layout in use: `timescale` or `postgres`. */
    readonly mode: TimescaleMode,
    /** `version()` of the server. */
    readonly serverVersion: string,
    /** Version of the timescaledb extension, or undefined on plain PostgreSQL. */
    readonly timescaleVersion: string | undefined,
    private readonly warn: (message: string) => void,
  ) {
    this.s = options.schema;
    if (mode === 'postgres' && options.aggregateRefreshMs !== false) {
      this.refreshTimer = setInterval(() => {
        this.refreshAggregates().catch((e: unknown) => this.warn(`timescale store: refreshing ${AGGREGATE_VIEWS.join(' and ')} failed (will try again): ${describeError(e)}`));
      }, options.aggregateRefreshMs);
      this.refreshTimer.unref();
    }
  }

  /** The schema (namespace) of the store's tables. */
  get schema(): string {
    return this.s;
  }

  /**
   * Connects, detects whether the server has TimescaleDB (`CREATE EXTENSION
   * IF NOT EXISTS timescaledb`; a failure means plain PostgreSQL), creates the
   * schema when missing (idempotent DDL under an advisory lock, so several
   * processes may start at once) and logs what it chose. An existing layout
   * wins: tables created without TimescaleDB stay plain.
   *
   * @example
   * ```ts
   * const store = await TimescaleStore.connect({ url: process.env.DATABASE_URL!, schema: 'market' });
   * console.log(store.mode); // 'timescale' or 'postgres'
   * ```
   */
  static async connect(options: TimescaleStoreOptions): Promise<TimescaleStore> {
    const o = parseTimescaleStoreOptions(options);
    const log = options.log ?? ((m: string) => console.info(m));
    let sql = client(o, o.maxConnections);
    try {
      const [v] = await sql<{ version: string }[]>`SELECT version() AS version`;
      const serverVersion = v!.version;
      if (/emscripten/i.test(serverVersion) && o.maxConnections > 1) {
        // PGlite is one backend: a second connection would wait for the first to close.
        await sql.end({ timeout: 1 });
        sql = client(o, 1);
        log('timescale store: the server is PGlite, which serves one connection at a time: using a pool of one');
      }
      const { mode, timescaleVersion, reason } = await detectMode(sql, o);
      if (o.createSchema) await createSchema(sql, o, mode);
      const store = new TimescaleStore(sql, o, mode, serverVersion, timescaleVersion, log);
      const pg = /^PostgreSQL [\d.]+/.exec(serverVersion)?.[0] ?? serverVersion;
      if (mode === 'timescale') {
        log(
          `timescale store: TimescaleDB ${timescaleVersion} on ${pg} (schema ${o.schema}): trades is a hypertable (${duration(o.chunkIntervalMs)} chunks, compressed after ${duration(o.compressAfterMs)}, dropped after ${duration(o.retentionMs)}); ohlc_daily and volume_by_symbol are continuous aggregates` +
            (o.aggregateRefreshMs === false ? '' : ` refreshed every ${duration(o.aggregateRefreshMs)}`),
        );
      } else {
        log(
          `timescale store: plain ${pg} (schema ${o.schema}; ${reason}): ordinary tables; ohlc_daily and volume_by_symbol are materialized views` +
            (o.aggregateRefreshMs === false ? ' refreshed by refreshAggregates()' : ` refreshed every ${duration(o.aggregateRefreshMs)}`),
        );
      }
      return store;
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw fail(e, `connecting to ${redact(o.url)}`, o.url);
    }
  }

  /**
   * Writes trades idempotently: one row per (symbol, time, key), where key is
   * the exchange id, or for trades without one their content plus their
   * occurrence among identical prints of this call (TradeKeyer). Writing the
   * same batch again leaves one row per trade. Throws `INVALID_ARGUMENT` for
   * a bad row (nothing is written) and `SINK_FAILED` when the server fails.
   */
  async writeTrades(rows: readonly Trade[]): Promise<void> {
    this.check('trades', rows);
    const keyer = new TradeKeyer();
    await this.insertTrades(rows, (t) => keyer.key(t));
  }

  /** Upserts candles keyed (symbol, timeframe, start); a lower `rev` never replaces a higher one. */
  async writeCandles(rows: readonly Candle[]): Promise<void> {
    this.check('candles', rows);
    await this.upsertCandles(rows);
  }

  /** Upserts volume profiles keyed (symbol, timeframe, start), keeping the highest `rev`. */
  async writeVolumeProfiles(rows: readonly VolumeProfile[]): Promise<void> {
    this.check('volumeProfiles', rows);
    await this.upsertVolumeProfiles(rows);
  }

  /** Upserts tick counts keyed (symbol, timeframe, start), keeping the highest `rev`. */
  async writeTickCounts(rows: readonly TickCount[]): Promise<void> {
    this.check('tickCounts', rows);
    await this.upsertTickCounts(rows);
  }

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

  /**
   * Brings `ohlc_daily` and `volume_by_symbol` up to date now: on TimescaleDB
   * `refresh_continuous_aggregate` over everything, on plain PostgreSQL
   * `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers are not blocked).
   */
  refreshAggregates(): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    const run = async (): Promise<void> => {
      try {
        for (const view of AGGREGATE_VIEWS) {
          const statement = this.mode === 'timescale' ? `CALL refresh_continuous_aggregate('${this.s}.${view}', NULL, NULL)` : `REFRESH MATERIALIZED VIEW CONCURRENTLY ${this.s}.${view}`;
          await onceMoreIfLost(() => this.sql.unsafe(statement));
        }
      } catch (e) {
        throw fail(e, `refreshing ${this.s}.${AGGREGATE_VIEWS.join(' and ')}`, this.options.url);
      } finally {
        this.refreshing = undefined;
      }
    };
    this.refreshing = run();
    return this.refreshing;
  }

  /**
   * A sink writing rows of one kind into this store, with batching, retries,
   * the circuit breaker and backpressure (see BatchingSink). Trades without
   * an exchange id are keyed once, in arrival order, so retries and restarts
   * of the same stream write the same keys. Closing the sink does not close
   * the store.
   *
   * @example
   * ```ts
   * await pipeline(fromArray(trades)).to(store.sink('trades', { maxBatchSize: 10_000 })).run();
   * ```
   */
  sink(kind: 'trades', options?: SinkOptions): Sink<Trade>;
  sink(kind: 'candles', options?: SinkOptions): Sink<Candle>;
  sink(kind: 'volumeProfiles', options?: SinkOptions): Sink<VolumeProfile>;
  sink(kind: 'tickCounts', options?: SinkOptions): Sink<TickCount>;
  sink<K extends TimescaleSinkKind>(kind: K, options?: SinkOptions): Sink<TimescaleRowOfKind[K]>;
  sink<K extends TimescaleSinkKind>(kind: K, options: SinkOptions = {}): Sink<TimescaleRowOfKind[K]> {
    this.open();
    return new BatchingSink(new TimescaleTarget<K>(kind, () => Promise.resolve(this)), options);
  }

  /**
   * Checkpoints of `kafkaConsumer` in this database (table
   * `tickflow_checkpoints`, created on first use), shared by every process of
   * a consumer group.
   *
   * @example
   * ```ts
   * kafkaConsumer({ brokers, topic: 'trades', groupId: 'candles', windows: { size: ['1m', '1d'] }, checkpoints: store.checkpoints() });
   * ```
   */
  checkpoints(): CheckpointStore {
    this.open();
    return timescaleCheckpoints(this.sql, this.s);
  }

  /**
   * The `correlation_matrix` table (created on first use): writes and reads
   * the matrices of `correlation()` from @tickflow/windowing.
   *
   * @example
   * ```ts
   * job.to(store.correlationMatrices().sink());
   * ```
   */
  correlationMatrices(): TimescaleCorrelationMatrices {
    this.open();
    return new TimescaleCorrelationMatrices(this.sql, this.s);
  }

  /** Stops the refresh timer and closes the connections (waiting up to 5 s for running queries). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    await this.refreshing?.catch(() => undefined);
    await this.sql.end({ timeout: 5 });
  }

  /** @internal Writes trades keyed by `keyOf` (used by the sink, which keys each trade once). */
  async insertTrades(rows: readonly Trade[], keyOf: TradeKeyOf): Promise<void> {
    this.open();
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
        throw fail(e, `writing ${n} trades to ${this.s}.trades`, this.options.url);
      }
    }
  }

  /** @internal */
  async upsertCandles(all: readonly Candle[]): Promise<void> {
    this.open();
    const rows = latestPerWindow(all);
    const n = rows.length;
    if (n === 0) return;
    const c = {
      symbol: new Array<string>(n), timeframe: new Array<string>(n), start: new Array<number>(n), end: new Array<number>(n),
      open: new Array<number>(n), high: new Array<number>(n), low: new Array<number>(n), close: new Array<number>(n),
      volume: new Array<number>(n), trades: new Array<number>(n), vwap: new Array<number>(n), buy: new Array<number>(n),
      sell: new Array<number>(n), final: new Array<boolean>(n), rev: new Array<number>(n),
    };
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      c.symbol[i] = r.symbol; c.timeframe[i] = r.timeframe; c.start[i] = r.start; c.end[i] = r.end;
      c.open[i] = r.open; c.high[i] = r.high; c.low[i] = r.low; c.close[i] = r.close;
      c.volume[i] = r.volume; c.trades[i] = r.trades; c.vwap[i] = r.vwap; c.buy[i] = r.buyVolume;
      c.sell[i] = r.sellVolume; c.final[i] = r.final; c.rev[i] = r.rev;
    }
    const sql = this.sql;
    const f = float8ArrayLiteral;
    try {
      await onceMoreIfLost(() => sql`
        INSERT INTO ${sql(this.s)}.ohlc AS o (symbol, timeframe, start, "end", open, high, low, close, volume, trades, vwap, buy_volume, sell_volume, final, rev)
        SELECT u.symbol, u.timeframe, to_timestamp(u.st / 1000.0), to_timestamp(u.en / 1000.0), u.open, u.high, u.low, u.close, u.volume, u.trades, u.vwap, u.buy, u.sell, u.final, u.rev
        FROM unnest(${textArrayLiteral(c.symbol)}::text[], ${textArrayLiteral(c.timeframe)}::text[], ${f(c.start)}::float8[], ${f(c.end)}::float8[],
                    ${f(c.open)}::float8[], ${f(c.high)}::float8[], ${f(c.low)}::float8[], ${f(c.close)}::float8[], ${f(c.volume)}::float8[],
                    ${int8ArrayLiteral(c.trades)}::int8[], ${f(c.vwap)}::float8[], ${f(c.buy)}::float8[], ${f(c.sell)}::float8[],
                    ${boolArrayLiteral(c.final)}::bool[], ${int8ArrayLiteral(c.rev)}::int8[])
          AS u(symbol, timeframe, st, en, open, high, low, close, volume, trades, vwap, buy, sell, final, rev)
        ON CONFLICT (symbol, timeframe, start) DO UPDATE SET
          "end" = excluded."end", open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
          volume = excluded.volume, trades = excluded.trades, vwap = excluded.vwap, buy_volume = excluded.buy_volume,
          sell_volume = excluded.sell_volume, final = excluded.final, rev = excluded.rev, written_at = now()
        WHERE excluded.rev >= o.rev`);
    } catch (e) {
      throw fail(e, `writing ${n} candles to ${this.s}.ohlc`, this.options.url);
    }
  }

  /** @internal */
  async upsertVolumeProfiles(all: readonly VolumeProfile[]): Promise<void> {
    this.open();
    const rows = latestPerWindow(all);
    const n = rows.length;
    if (n === 0) return;
    const c = {
      symbol: new Array<string>(n), timeframe: new Array<string>(n), start: new Array<number>(n), end: new Array<number>(n),
      bucket: new Array<number>(n), levels: new Array<string>(n), volume: new Array<number>(n), poc: new Array<number>(n),
      val: new Array<number>(n), vah: new Array<number>(n), vav: new Array<number>(n), final: new Array<boolean>(n), rev: new Array<number>(n),
    };
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      c.symbol[i] = r.symbol; c.timeframe[i] = r.timeframe; c.start[i] = r.start; c.end[i] = r.end;
      c.bucket[i] = r.bucket; c.levels[i] = levelsJson(r.levels); c.volume[i] = r.volume; c.poc[i] = r.poc;
      c.val[i] = r.valueAreaLow; c.vah[i] = r.valueAreaHigh; c.vav[i] = r.valueAreaVolume; c.final[i] = r.final; c.rev[i] = r.rev;
    }
    const sql = this.sql;
    const f = float8ArrayLiteral;
    try {
      await onceMoreIfLost(() => sql`
        INSERT INTO ${sql(this.s)}.volume_profiles AS o (symbol, timeframe, start, "end", bucket, levels, volume, poc, value_area_low, value_area_high, value_area_volume, final, rev)
        SELECT u.symbol, u.timeframe, to_timestamp(u.st / 1000.0), to_timestamp(u.en / 1000.0), u.bucket, u.levels::jsonb, u.volume, u.poc, u.val, u.vah, u.vav, u.final, u.rev
        FROM unnest(${textArrayLiteral(c.symbol)}::text[], ${textArrayLiteral(c.timeframe)}::text[], ${f(c.start)}::float8[], ${f(c.end)}::float8[],
                    ${f(c.bucket)}::float8[], ${textArrayLiteral(c.levels)}::text[], ${f(c.volume)}::float8[], ${f(c.poc)}::float8[],
                    ${f(c.val)}::float8[], ${f(c.vah)}::float8[], ${f(c.vav)}::float8[], ${boolArrayLiteral(c.final)}::bool[], ${int8ArrayLiteral(c.rev)}::int8[])
          AS u(symbol, timeframe, st, en, bucket, levels, volume, poc, val, vah, vav, final, rev)
        ON CONFLICT (symbol, timeframe, start) DO UPDATE SET
          "end" = excluded."end", bucket = excluded.bucket, levels = excluded.levels, volume = excluded.volume, poc = excluded.poc,
          value_area_low = excluded.value_area_low, value_area_high = excluded.value_area_high, value_area_volume = excluded.value_area_volume,
          final = excluded.final, rev = excluded.rev, written_at = now()
        WHERE excluded.rev >= o.rev`);
    } catch (e) {
      throw fail(e, `writing ${n} volume profiles to ${this.s}.volume_profiles`, this.options.url);
    }
  }

  /** @internal */
  async upsertTickCounts(all: readonly TickCount[]): Promise<void> {
    this.open();
    const rows = latestPerWindow(all);
    const n = rows.length;
    if (n === 0) return;
    const c = {
      symbol: new Array<string>(n), timeframe: new Array<string>(n), start: new Array<number>(n), end: new Array<number>(n),
      trades: new Array<number>(n), buy: new Array<number>(n), sell: new Array<number>(n), final: new Array<boolean>(n), rev: new Array<number>(n),
    };
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      c.symbol[i] = r.symbol; c.timeframe[i] = r.timeframe; c.start[i] = r.start; c.end[i] = r.end;
      c.trades[i] = r.trades; c.buy[i] = r.buyTrades; c.sell[i] = r.sellTrades; c.final[i] = r.final; c.rev[i] = r.rev;
    }
    const sql = this.sql;
    try {
      await onceMoreIfLost(() => sql`
        INSERT INTO ${sql(this.s)}.tick_counts AS o (symbol, timeframe, start, "end", trades, buy_trades, sell_trades, final, rev)
        SELECT u.symbol, u.timeframe, to_timestamp(u.st / 1000.0), to_timestamp(u.en / 1000.0), u.trades, u.buy, u.sell, u.final, u.rev
        FROM unnest(${textArrayLiteral(c.symbol)}::text[], ${textArrayLiteral(c.timeframe)}::text[], ${float8ArrayLiteral(c.start)}::float8[], ${float8ArrayLiteral(c.end)}::float8[],
                    ${int8ArrayLiteral(c.trades)}::int8[], ${int8ArrayLiteral(c.buy)}::int8[], ${int8ArrayLiteral(c.sell)}::int8[], ${boolArrayLiteral(c.final)}::bool[], ${int8ArrayLiteral(c.rev)}::int8[])
          AS u(symbol, timeframe, st, en, trades, buy, sell, final, rev)
        ON CONFLICT (symbol, timeframe, start) DO UPDATE SET
          "end" = excluded."end", trades = excluded.trades, buy_trades = excluded.buy_trades, sell_trades = excluded.sell_trades,
          final = excluded.final, rev = excluded.rev, written_at = now()
        WHERE excluded.rev >= o.rev`);
    } catch (e) {
      throw fail(e, `writing ${n} tick counts to ${this.s}.tick_counts`, this.options.url);
    }
  }

  private async readWindows<T>(table: string, columns: string, { symbol, timeframe, from, to, limit }: TimescaleWindowRange): Promise<T[]> {
    return this.read<T>(
      `reading ${table}`,
      `SELECT symbol, timeframe, ${fromTime('start')} AS start, ${fromTime('"end"')} AS "end", final, rev, ${columns}
       FROM ${this.s}.${table} WHERE symbol = $1 AND timeframe = $2 AND start >= ${toTime('$3::float8')} AND start < ${toTime('$4::float8')} ORDER BY start${limitClause(limit)}`,
      [symbol, timeframe, from, to],
    );
  }

  private async read<T>(what: string, text: string, params: (string | number)[]): Promise<T[]> {
    this.open();
    try {
      const rows = await onceMoreIfLost(() => this.sql.unsafe(text, params));
      return rows as unknown as T[];
    } catch (e) {
      throw fail(e, `${what} from schema ${this.s}`, this.options.url);
    }
  }

  private check(kind: TimescaleSinkKind, rows: readonly unknown[]): void {
    if (!Array.isArray(rows)) throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${kind} must be an array of rows`);
    for (let i = 0; i < rows.length; i++) {
      const p = rowProblem(kind, rows[i]);
      if (p !== undefined) throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${kind}[${i}] cannot be stored: ${p}; nothing of this batch was written (a sink sends such rows to its dead-letter output instead)`);
    }
  }

  private open(): void {
    if (this.closed) throw new TickflowError('SINK_CLOSED', `timescale store (${redact(this.options.url)}) is closed; connect a new one`);
  }
}

function limitClause(limit: number | undefined): string {
  if (limit === undefined) return '';
  if (!Number.isInteger(limit) || limit < 0) throw new TickflowError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${limit}`);
  return ` LIMIT ${limit}`;
}

function levelsJson(levels: readonly VolumeLevel[]): string {
  let out = '[';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (i > 0) out += ',';
    out += `{"price":${l.price},"volume":${l.volume},"buyVolume":${l.buyVolume},"sellVolume":${l.sellVolume}}`;
  }
  return `${out}]`;
}

function duration(msValue: number): string {
  for (const [size, unit] of [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1_000, 's']] as const) {
    if (msValue % size === 0) return `${msValue / size}${unit}`;
  }
  return `${msValue}ms`;
}

function client(o: ParsedOptions, max: number): Sql {
  return postgres(o.url, {
    max,
    onnotice: () => undefined,
    connect_timeout: Math.max(1, Math.ceil(o.connectTimeoutMs / 1000)),
    // Fail fast while the server is down: the sink retries with its own
    // backoff and circuit breaker. (The driver's default delays reconnects
    // exponentially, up to 20 s, after a few failed connects.)
    backoff: () => 0,
    // Numbers stay numbers: counts are read as float8, bigint columns are never returned raw.
    transform: { undefined: null },
  }) as unknown as Sql;
}

async function detectMode(sql: Sql, o: ParsedOptions): Promise<{ mode: TimescaleMode; timescaleVersion: string | undefined; reason: string }> {
  let available = false;
  let reason = 'mode: postgres requested';
  if (o.mode !== 'postgres') {
    try {
      await sql.unsafe('CREATE EXTENSION IF NOT EXISTS timescaledb');
      available = true;
    } catch (e) {
      reason = `no timescaledb extension: ${describeError(e)}`;
      if (o.mode === 'timescale') {
        throw new TickflowError('SINK_FAILED', `timescale store: mode "timescale" needs the timescaledb extension, which the server at ${redact(o.url)} cannot create (${describeError(e)}): install TimescaleDB (shared_preload_libraries = 'timescaledb') or use mode "auto"`, { cause: e });
      }
    }
  }
  let timescaleVersion: string | undefined;
  if (available) {
    const [row] = await sql<{ v: string }[]>`SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'`;
    timescaleVersion = row?.v;
  }
  // An existing layout wins over what the server could do.
  const [layout] = await sql<{ has_trades: boolean; catalog: boolean }[]>`
    SELECT to_regclass(${`${o.schema}.trades`}) IS NOT NULL AS has_trades, to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL AS catalog`;
  const hasTrades = layout!.has_trades;
  let isHypertable = false;
  if (hasTrades && layout!.catalog) {
    const [h] = await sql<{ h: boolean }[]>`SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable WHERE schema_name = ${o.schema} AND table_name = 'trades') AS h`;
    isHypertable = h!.h;
  }
  if (hasTrades && isHypertable) {
    if (o.mode === 'postgres') {
      throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${o.schema}.trades is a TimescaleDB hypertable but mode "postgres" was requested: use mode "auto" or another schema`);
    }
    return { mode: 'timescale', timescaleVersion, reason: '' };
  }
  if (hasTrades && available) {
    if (o.mode === 'timescale') {
      throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${o.schema}.trades exists as a plain table: migrate it (SELECT create_hypertable('${o.schema}.trades', 'time', migrate_data => true), then drop ohlc_daily and volume_by_symbol) or use mode "auto"`);
    }
    return { mode: 'postgres', timescaleVersion, reason: `${o.schema}.trades was created without TimescaleDB, kept as it is` };
  }
  return available ? { mode: 'timescale', timescaleVersion, reason: '' } : { mode: 'postgres', timescaleVersion: undefined, reason };
}

async function createSchema(sql: Sql, o: ParsedOptions, mode: TimescaleMode): Promise<void> {
  const { statements } = timescaleSchema({
    mode,
    schema: o.schema,
    chunkIntervalMs: o.chunkIntervalMs,
    compressAfterMs: o.compressAfterMs,
    retentionMs: o.retentionMs,
    refreshEveryMs: o.aggregateRefreshMs === false ? 60_000 : o.aggregateRefreshMs,
  });
  // One connection, under an advisory lock: concurrent start-ups run the DDL one after the other.
  const conn = await sql.reserve();
  const lockKey = `tickflow:${o.schema}`;
  try {
    await conn`SELECT pg_advisory_lock(hashtext(${lockKey}))`;
    try {
      for (const statement of statements) {
        try {
          await conn.unsafe(statement);
        } catch (e) {
          throw new TickflowError('SINK_FAILED', `timescale store: creating the schema failed at "${statement.split('\n')[0]!.slice(0, 120)}": ${explain(e, o.url)}. Check that the user may create tables in schema ${o.schema}, or create them with createSchema: false`, { cause: e });
        }
      }
    } finally {
      await conn`SELECT pg_advisory_unlock(hashtext(${lockKey}))`.catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/**
 * The SinkTarget of a Timescale sink: validates rows (and keys trades
 * without an exchange id, once, in arrival order, so retries resend the same
 * keys), then writes them through a store.
 * @internal
 */
export class TimescaleTarget<K extends TimescaleSinkKind> implements SinkTarget<TimescaleRowOfKind[K]> {
  readonly name: string;
  private readonly keyer = new TradeKeyer();
  private readonly keyOf: TradeKeyOf = (t) => this.keyer.keyOnce(t);

  constructor(
    private readonly kind: K,
    private readonly store: () => Promise<TimescaleStore>,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.name = `timescale:${KIND_TABLE[kind]}`;
  }

  validate(row: TimescaleRowOfKind[K]): string | undefined {
    const p = rowProblem(this.kind, row);
    // Keys are given in arrival order; the same object seen again is a re-delivery and keeps its key.
    if (p === undefined && this.kind === 'trades') this.keyer.keyOnce(row as Trade);
    return p;
  }

  async writeRows(rows: readonly TimescaleRowOfKind[K][]): Promise<void> {
    const store = await this.store();
    switch (this.kind) {
      case 'trades':
        return store.insertTrades(rows as readonly Trade[], this.keyOf);
      case 'candles':
        return store.upsertCandles(rows as readonly Candle[]);
      case 'volumeProfiles':
        return store.upsertVolumeProfiles(rows as readonly VolumeProfile[]);
      case 'tickCounts':
        return store.upsertTickCounts(rows as readonly TickCount[]);
    }
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
