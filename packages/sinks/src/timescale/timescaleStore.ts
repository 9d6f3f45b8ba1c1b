import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { CheckpointStore } from '@tickflow/core/kafka';
import { BatchingSink } from '../batchingSink.js';
import type { Sink } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import type { RangeStore } from '../rangeStore.js';
import { TradeKeyer } from '../tradeKey.js';
import type { TradeKeyOf } from '../tradeKey.js';
import { TimescaleCorrelationMatrices } from './correlationMatrices.js';
import { client, createSchema, detectMode, duration } from './timescaleBootstrap.js';
import type { Sql } from './timescaleBootstrap.js';
import { fail, onceMoreIfLost, redact } from './timescaleErrors.js';
import { timescaleCheckpoints } from './timescaleCheckpoints.js';
import { TimescaleReader } from './timescaleReader.js';
import { rowProblem } from './timescaleRows.js';
import type { DailyOhlc, SymbolVolume, TimescaleReadRange, TimescaleRowOfKind, TimescaleSinkKind, TimescaleWindowRange } from './timescaleRows.js';
import { AGGREGATE_VIEWS } from './timescaleSchema.js';
import type { TimescaleMode } from './timescaleSchema.js';
import { parseTimescaleStoreOptions } from './timescaleStoreOptions.js';
import type { ParsedTimescaleOptions, TimescaleStoreOptions } from './timescaleStoreOptions.js';
import { TimescaleTarget } from './timescaleTarget.js';
import { TimescaleWriter } from './timescaleWriter.js';

// The store's parts: options (timescaleStoreOptions.ts), errors (timescaleErrors.ts),
// connection and schema bootstrap (timescaleBootstrap.ts, timescaleSchema.ts),
// writes (timescaleWriter.ts), reads (timescaleReader.ts) and the sink target (timescaleTarget.ts).

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
export class TimescaleStore implements RangeStore {
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly s: string;
  private readonly writer: TimescaleWriter;
  private readonly reader: TimescaleReader;

  private constructor(
    private readonly sql: Sql,
    private readonly options: ParsedTimescaleOptions,
    /** The layout in use: `timescale` or `postgres`. */
    readonly mode: TimescaleMode,
    /** `version()` of the server. */
    readonly serverVersion: string,
    /** Version of the timescaledb extension, or undefined on plain PostgreSQL. */
    readonly timescaleVersion: string | undefined,
    private readonly warn: (message: string) => void,
  ) {
    this.s = options.schema;
    this.writer = new TimescaleWriter(sql, options.schema, options.url);
    this.reader = new TimescaleReader(sql, options.schema, options.url);
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
  async readTrades(range: TimescaleReadRange): Promise<Trade[]> {
    this.open();
    return this.reader.readTrades(range);
  }

  /** Candles of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readCandles(range: TimescaleWindowRange): Promise<Candle[]> {
    this.open();
    return this.reader.readCandles(range);
  }

  /** Volume profiles of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readVolumeProfiles(range: TimescaleWindowRange): Promise<VolumeProfile[]> {
    this.open();
    return this.reader.readVolumeProfiles(range);
  }

  /** Tick counts of one symbol and timeframe whose start is in [from, to), ordered by start. */
  async readTickCounts(range: TimescaleWindowRange): Promise<TickCount[]> {
    this.open();
    return this.reader.readTickCounts(range);
  }

  /**
   * Daily bars of one symbol from `ohlc_daily` (UTC days starting in
   * [from, to)), ordered by day. On TimescaleDB the continuous aggregate is
   * real-time (it includes trades not yet materialized); on plain PostgreSQL
   * the materialized view is as fresh as its last refresh
   * (`refreshAggregates()`).
   */
  async readDailyOhlc(range: TimescaleReadRange): Promise<DailyOhlc[]> {
    this.open();
    return this.reader.readDailyOhlc(range);
  }

  /** Volume per symbol over the hours starting in [from, to), from `volume_by_symbol`, ordered by symbol. */
  async readVolumeBySymbol(range: { readonly from: number; readonly to: number }): Promise<SymbolVolume[]> {
    this.open();
    return this.reader.readVolumeBySymbol(range);
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
    return this.writer.insertTrades(rows, keyOf);
  }

  /** @internal */
  async upsertCandles(rows: readonly Candle[]): Promise<void> {
    this.open();
    return this.writer.upsertCandles(rows);
  }

  /** @internal */
  async upsertVolumeProfiles(rows: readonly VolumeProfile[]): Promise<void> {
    this.open();
    return this.writer.upsertVolumeProfiles(rows);
  }

  /** @internal */
  async upsertTickCounts(rows: readonly TickCount[]): Promise<void> {
    this.open();
    return this.writer.upsertTickCounts(rows);
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
