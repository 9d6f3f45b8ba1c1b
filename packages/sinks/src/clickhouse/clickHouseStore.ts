import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import type { RangeStore } from '../rangeStore.js';
import { TradeKeyer } from '../tradeKey.js';
import type { TradeKeyOf } from '../tradeKey.js';
import { openShards } from './clickHouseBootstrap.js';
import { ClickHouseReader } from './clickHouseReader.js';
import { rowProblem } from './clickHouseRowKinds.js';
import type { ClickHouseReadRange, ClickHouseRowOfKind, ClickHouseSinkKind } from './clickHouseRowKinds.js';
import { ClickHouseShards } from './clickHouseShards.js';
import type { ClickHouseShardInfo, Shard } from './clickHouseShards.js';
import { CLICKHOUSE_SINK_DEFAULTS, parseClickHouseStoreOptions } from './clickHouseStoreOptions.js';
import type { ClickHouseStoreOptions, ParsedClickHouseOptions } from './clickHouseStoreOptions.js';
import { ClickHouseTarget } from './clickHouseTarget.js';
import { ClickHouseWriter } from './clickHouseWriter.js';
import { ClickHouseCorrelationMatrices } from './correlationMatrices.js';

// The store's parts: options (clickHouseStoreOptions.ts), row kinds and checks (clickHouseRowKinds.ts),
// shards and tables (clickHouseShards.ts), connection and schema bootstrap (clickHouseBootstrap.ts,
// clickHouseSchema.ts), writes (clickHouseWriter.ts), reads (clickHouseReader.ts), the sink target (clickHouseTarget.ts).

/**
 * A ClickHouse store for market data over HTTP (`@clickhouse/client`): raw
 * trades, candles per timeframe, volume profiles and tick counts, written in
 * large RowBinary batches, idempotently, and sharded by symbol over several
 * servers when several URLs are given.
 *
 * `connect` reads each server's version and builds the schema for what it
 * can do (TTL ≥ 19.6, DateTime64 ≥ 20.5, LowCardinality ≥ 19.0; on 18.16:
 * UInt64 epoch-ms times, String symbols, no TTL), creates the database and
 * tables when missing, and logs its choice. Tables that already exist keep
 * their types.
 *
 * Idempotency: every table is a ReplacingMergeTree keyed by (symbol, ts, key)
 * for trades and (symbol, start) for aggregates (the highest `rev` wins), and
 * every read uses FINAL, so a row written twice is read once even before
 * ClickHouse merges the parts.
 *
 * @example
 * ```ts
 * const store = await ClickHouseStore.connect({ url: 'http://127.0.0.1:8123', timeframes: ['1m', '5m'] });
 * await pipeline(syntheticTrades({ count: 100_000 }))
 *   .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()))
 *   .to(store.sink('candles'))
 *   .run();
 * const bars = await store.readCandles({ symbol: 'SYM0001', timeframe: '1m' });
 * await store.close();
 * ```
 */
export class ClickHouseStore implements RangeStore {
  private readonly shardSet: ClickHouseShards;
  private readonly writer: ClickHouseWriter;
  private readonly reader: ClickHouseReader;
  private closed = false;

  private constructor(
    shards: readonly Shard[],
    /** @internal */ readonly options: ParsedClickHouseOptions,
  ) {
    this.shardSet = new ClickHouseShards(shards);
    this.writer = new ClickHouseWriter(this.shardSet, options.insertFormat);
    this.reader = new ClickHouseReader(this.shardSet, options);
  }

  /**
   * Connects to every server, detects its version, creates the database and
   * tables when missing and logs what it chose. Throws `INVALID_ARGUMENT`
   * for bad options and `SINK_FAILED` when a server cannot be reached or an
   * existing table does not match.
   *
   * @example
   * ```ts
   * const store = await ClickHouseStore.connect({ url: ['http://ch1:8123', 'http://ch2:8123'] });
   * ```
   */
  static async connect(options: ClickHouseStoreOptions): Promise<ClickHouseStore> {
    const o = parseClickHouseStoreOptions(options);
    const log = options.log ?? ((m: string) => console.info(m));
    return new ClickHouseStore(await openShards(o, log), o);
  }

  /** The shards (servers) in order, with the capabilities each schema was built for. */
  get shards(): readonly ClickHouseShardInfo[] {
    return this.shardSet.list.map((s) => ({ url: s.url, capabilities: s.schema.capabilities }));
  }

  /** The database holding the tables. */
  get database(): string {
    return this.options.database;
  }

  /**
   * The index of the shard that holds a symbol: FNV-1a (32-bit, over the
   * symbol's UTF-8 bytes) modulo the number of shards.
   */
  shardOf(symbol: string): number {
    return this.shardSet.shardOf(symbol);
  }

  /**
   * Writes trades idempotently: one row per (symbol, ts, key), where key is
   * the exchange id, or for trades without one their content plus their
   * occurrence among identical prints of this call (TradeKeyer). Writing the
   * same batch again leaves one row per trade. Throws `INVALID_ARGUMENT` for
   * a bad row (nothing is written) and `SINK_FAILED` when ClickHouse fails.
   */
  async writeTrades(rows: readonly Trade[]): Promise<void> {
    this.check('trades', rows);
    const keyer = new TradeKeyer();
    await this.insertTrades(rows, (t) => keyer.key(t));
  }

  /** Upserts candles keyed (symbol, timeframe, start); a lower `rev` never replaces a higher one. */
  async writeCandles(rows: readonly Candle[]): Promise<void> {
    this.check('candles', rows);
    await this.insertAggregates('candles', rows);
  }

  /** Upserts volume profiles keyed (symbol, timeframe, start), highest `rev` kept. */
  async writeVolumeProfiles(rows: readonly VolumeProfile[]): Promise<void> {
    this.check('volumeProfiles', rows);
    await this.insertAggregates('volumeProfiles', rows);
  }

  /** Upserts tick counts keyed (symbol, timeframe, start), highest `rev` kept. */
  async writeTickCounts(rows: readonly TickCount[]): Promise<void> {
    this.check('tickCounts', rows);
    await this.insertAggregates('tickCounts', rows);
  }

  /** Trades in [from, to), ordered by time (then symbol), one per key; `limit` caps the count. */
  async readTrades(range: ClickHouseReadRange & { readonly limit?: number | undefined } = {}): Promise<Trade[]> {
    this.checkOpen();
    return this.reader.readTrades(range);
  }

  /** Candles of one timeframe with start in [from, to), ordered by start (then symbol), the highest rev of each; with `limit`, the newest `limit`. */
  async readCandles(range: ClickHouseReadRange & { readonly timeframe: string; readonly limit?: number | undefined }): Promise<Candle[]> {
    this.checkOpen();
    return this.reader.readCandles(range);
  }

  /** Volume profiles of one timeframe (default the first configured) with start in [from, to); with `limit`, the newest `limit`. */
  async readVolumeProfiles(range: ClickHouseReadRange & { readonly timeframe?: string | undefined; readonly limit?: number | undefined } = {}): Promise<VolumeProfile[]> {
    this.checkOpen();
    return this.reader.readVolumeProfiles(range);
  }

  /** Tick counts of one timeframe (default the first configured) with start in [from, to); with `limit`, the newest `limit`. */
  async readTickCounts(range: ClickHouseReadRange & { readonly timeframe?: string | undefined; readonly limit?: number | undefined } = {}): Promise<TickCount[]> {
    this.checkOpen();
    return this.reader.readTickCounts(range);
  }

  /**
   * The `correlation_matrix` table (created on first use, on the first
   * shard: a matrix spans every symbol) for the matrices of `correlation()`.
   *
   * @example
   * ```ts
   * job.to(store.correlationMatrices().sink());
   * ```
   */
  correlationMatrices(): ClickHouseCorrelationMatrices {
    this.checkOpen();
    const first = this.shardSet.list[0]!;
    return new ClickHouseCorrelationMatrices(first.client, first.schema.capabilities, this.options.database);
  }

  /**
   * A batching sink into this store (retries, circuit breaker, backpressure,
   * dead letters for rows that fail validation). Closing the sink flushes it
   * but does not close the store. Batches default to 50 000 rows (see
   * CLICKHOUSE_SINK_DEFAULTS); a batch also goes out after `maxBatchAge`.
   *
   * @example
   * ```ts
   * await pipeline(fromArray(trades)).to(store.sink('trades', { maxBatchSize: 50_000 })).run();
   * ```
   */
  sink(kind: 'trades', options?: SinkOptions): Sink<Trade>;
  sink(kind: 'candles', options?: SinkOptions): Sink<Candle>;
  sink(kind: 'volumeProfiles', options?: SinkOptions): Sink<VolumeProfile>;
  sink(kind: 'tickCounts', options?: SinkOptions): Sink<TickCount>;
  sink<K extends ClickHouseSinkKind>(kind: K, options?: SinkOptions): Sink<ClickHouseRowOfKind[K]>;
  sink<K extends ClickHouseSinkKind>(kind: K, options: SinkOptions = {}): Sink<ClickHouseRowOfKind[K]> {
    return new BatchingSink(new ClickHouseTarget<K>(kind, this.options, async () => this, false), { ...CLICKHOUSE_SINK_DEFAULTS, ...options });
  }

  /** Closes the HTTP clients the store created (not clients passed in `clients`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.shardSet.list.filter((s) => s.owned).map((s) => s.client.close().catch(() => undefined)));
  }

  /** @internal Writes trades already validated, keyed by `keyOf`. */
  async insertTrades(rows: readonly Trade[], keyOf: TradeKeyOf): Promise<void> {
    if (rows.length === 0) return;
    this.checkOpen();
    await this.writer.insertTrades(rows, keyOf);
  }

  /** @internal Writes aggregate rows already validated. */
  async insertAggregates<K extends 'candles' | 'volumeProfiles' | 'tickCounts'>(kind: K, rows: readonly ClickHouseRowOfKind[K][]): Promise<void> {
    if (rows.length === 0) return;
    this.checkOpen();
    await this.writer.insertAggregates(kind, rows);
  }

  private check(kind: ClickHouseSinkKind, rows: readonly unknown[]): void {
    for (let i = 0; i < rows.length; i++) {
      const p = rowProblem(kind, rows[i], this.options);
      if (p !== undefined) throw new TickflowError('INVALID_ARGUMENT', `ClickHouse ${kind} row ${i} was not written: ${p}. Nothing of this call was written; fix or drop the row (a sink sends such rows to its dead-letter output instead).`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new TickflowError('SINK_CLOSED', 'the ClickHouse store is closed; connect a new one');
  }
}
