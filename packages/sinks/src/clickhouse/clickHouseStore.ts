import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, drainStream } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { z } from 'zod';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkOptions } from '../batchingSink.js';
import { candleViewStatements, readCandleView } from './candleView.js';
import { ClickHouseCorrelationMatrices } from './correlationMatrices.js';
import { candleProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from '../rowValidation.js';
import { TradeKeyer } from '../tradeKey.js';
import {
  decodeCandle,
  decodeTickCount,
  decodeTrade,
  decodeVolumeProfile,
  encodeCandle,
  encodeTickCount,
  encodeTrade,
  encodeVolumeProfile,
  candleJson,
  tickCountJson,
  tradeJson,
  volumeProfileJson,
} from './clickHouseRows.js';
import type { TradeKeyOf } from '../tradeKey.js';
import { clickHouseCapabilities, clickHouseSchema, columnType, msToTime, quoteIdent, quoteString, timeToMs } from './clickHouseSchema.js';
import type { ClickHouseCapabilities, ClickHouseSchema, TableSpec } from './clickHouseSchema.js';
import { RowBinaryReader, RowBinaryWriter } from './rowBinary.js';
import { shardOf } from './shardOf.js';

const DurationSchema = z.union([z.number().nonnegative(), z.string()]);
const TimeframeListSchema = z.array(z.string().regex(/^[0-9]+(ms|s|m|h|d|w)$/, 'timeframes are labels like "1m", "5m", "1h"')).min(1);

/**
 * Options of a ClickHouse store (validated with zod; see the defaults).
 *
 * @example
 * ```ts
 * ClickHouseStoreOptionsSchema.parse({ url: ['http://ch1:8123', 'http://ch2:8123'], timeframes: ['1m', '5m', '1h'] });
 * ```
 */
export const ClickHouseStoreOptionsSchema = z
  .object({
    /** One server URL (`http://host:8123`) or several: several are shards, each symbol on shard fnv1a32(symbol) % N. */
    url: z.union([z.string().url(), z.array(z.string().url()).min(1)]).optional(),
    /**
     * Pre-built `@clickhouse/client` clients instead of `url`, one per shard
     * (e.g. chDB's in-process connection, which turns insert bodies into
     * text: use `insertFormat: 'JSONEachRow'` with it). The store does not
     * close them.
     */
    clients: z.array(z.custom<ClickHouseClient>((c) => typeof c === 'object' && c !== null && typeof (c as { exec?: unknown }).exec === 'function', 'expected a @clickhouse/client client')).min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** Database for the tables; created when missing. Default `tickflow`. */
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'database names are letters, digits and _').default('tickflow'),
    /** Candle timeframes: one `ohlc_<tf>` table each. Default `['1m', '5m']`. */
    timeframes: TimeframeListSchema.default(['1m', '5m']),
    /** Volume profile timeframes: one `volume_profile_<tf>` table each. Default `['1m']`. */
    profileTimeframes: TimeframeListSchema.default(['1m']),
    /** Tick count timeframes: one `tick_count_<tf>` table each. Default `['1m']`. */
    tickCountTimeframes: TimeframeListSchema.default(['1m']),
    /** Retention of `trades_raw` where the server has TTL (≥ 19.6), or `false` for none. Default 7 days. */
    tradesTtl: z.union([DurationSchema, z.literal(false)]).default('7d'),
    /** Insert format: RowBinary (fastest, default) or JSONEachRow (for proxies or backends that only take text). */
    insertFormat: z.enum(['RowBinary', 'JSONEachRow']).default('RowBinary'),
    /** HTTP request timeout. Default 30 s. */
    requestTimeout: DurationSchema.default(30_000),
    /** Most HTTP connections open at once, per shard (the client's keep-alive pool). Default 10. */
    maxOpenConnections: z.number().int().positive().default(10),
    /**
     * Let ClickHouse build candles of this timeframe from `trades_raw` itself
     * (`true` = `'1m'`): `ohlc_<tf>` becomes an AggregatingMergeTree fed by a
     * materialized view (see candleView.ts), for trades loaded by other
     * tools; tickflow then writes no candles of that timeframe, and
     * `readCandles` of it merges the view's states. Default false.
     */
    candleView: z.union([z.boolean(), z.string().regex(/^[0-9]+(s|m|h|d)$/, 'candleView is true or a timeframe like "1m"')]).default(false),
  })
  .refine((o) => (o.url === undefined) !== (o.clients === undefined), { message: 'give either url (one or several) or clients' });

/** Options of a ClickHouse store (see ClickHouseStoreOptionsSchema). */
export type ClickHouseStoreOptions = z.input<typeof ClickHouseStoreOptionsSchema> & {
  /** Where the store says what it detected and chose (default console.info). */
  readonly log?: ((message: string) => void) | undefined;
};

type ParsedOptions = z.output<typeof ClickHouseStoreOptionsSchema>;

/** The kinds of rows a ClickHouse sink takes. */
export type ClickHouseSinkKind = 'trades' | 'candles' | 'volumeProfiles' | 'tickCounts';

/** The row type of each sink kind. */
export interface ClickHouseRowOfKind {
  trades: Trade;
  candles: Candle;
  volumeProfiles: VolumeProfile;
  tickCounts: TickCount;
}

/** Bounds of a read: time in [from, to) (epoch ms); symbol omitted = every symbol on every shard. */
export interface ClickHouseReadRange {
  readonly symbol?: string | undefined;
  /** Inclusive lower bound on `ts` / `start`. Default: none. */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `ts` / `start`. Default: none. */
  readonly to?: number | undefined;
}

/** What one shard is: its URL and the capabilities the schema was built for. */
export interface ClickHouseShardInfo {
  readonly url: string;
  readonly capabilities: ClickHouseCapabilities;
}

interface Shard {
  readonly url: string;
  readonly client: ClickHouseClient;
  readonly owned: boolean;
  readonly schema: ClickHouseSchema;
}

/**
 * Sink defaults for ClickHouse, over the generic ones: every insert creates a
 * part on the server, and thousands of small parts a second make ClickHouse
 * throttle inserts ("too many parts"), so batches are large (measured on
 * 18.16: 1 000-row inserts ~140 k trades/s, 50 000-row inserts ~690 k/s).
 *
 * @example
 * ```ts
 * store.sink('trades', { ...CLICKHOUSE_SINK_DEFAULTS, maxBatchAge: '1s' });
 * ```
 */
export const CLICKHOUSE_SINK_DEFAULTS = { maxBatchSize: 50_000 } as const satisfies SinkOptions;

/** Parses store options or throws INVALID_ARGUMENT naming the bad field. */
export function parseClickHouseStoreOptions(options: ClickHouseStoreOptions): ParsedOptions {
  const parsed = ClickHouseStoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid ClickHouse store options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
  }
  const o = parsed.data;
  for (const k of ['timeframes', 'profileTimeframes', 'tickCountTimeframes'] as const) for (const tf of o[k]) parseDuration(tf, `${k} entry`);
  if (o.tradesTtl !== false) parseDuration(o.tradesTtl, 'tradesTtl');
  parseDuration(o.requestTimeout, 'requestTimeout');
  // The view's timeframe is ClickHouse's to fill: tickflow keeps no ohlc table of that name.
  const view = viewTimeframe(o);
  if (view !== undefined) return { ...o, timeframes: o.timeframes.filter((tf) => tf !== view) };
  return o;
}

/** The timeframe of the `candleView` option, or undefined when it is off. */
function viewTimeframe(o: ParsedOptions): string | undefined {
  return o.candleView === true ? '1m' : o.candleView === false ? undefined : o.candleView;
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Maps each configured timeframe label (and its length in ms) to its table. */
function tableIndex(tables: ReadonlyMap<string, TableSpec>): Map<string | number, TableSpec> {
  const index = new Map<string | number, TableSpec>();
  for (const [tf, table] of tables) {
    index.set(tf, table);
    index.set(parseDuration(tf, 'timeframe'), table);
  }
  return index;
}

function findTable(index: Map<string | number, TableSpec>, timeframe: string): TableSpec | undefined {
  const hit = index.get(timeframe);
  if (hit !== undefined) return hit;
  try {
    return index.get(parseDuration(timeframe, 'timeframe'));
  } catch {
    return undefined;
  }
}

/**
 * Explains why a row of `kind` must not be written to a store with these
 * options (validation, or a timeframe without a table), or undefined.
 */
function rowProblem(kind: ClickHouseSinkKind, row: unknown, o: ParsedOptions): string | undefined {
  switch (kind) {
    case 'trades':
      return tradeProblem(row as Trade);
    case 'candles':
      return candleProblem(row as Candle) ?? timeframeProblem('ohlc', (row as Candle).timeframe, o.timeframes, 'timeframes');
    case 'volumeProfiles':
      return volumeProfileProblem(row as VolumeProfile) ?? timeframeProblem('volume_profile', (row as VolumeProfile).timeframe, o.profileTimeframes, 'profileTimeframes');
    case 'tickCounts':
      return tickCountProblem(row as TickCount) ?? timeframeProblem('tick_count', (row as TickCount).timeframe, o.tickCountTimeframes, 'tickCountTimeframes');
  }
}

const timeframeMsCache = new Map<string, number>();

function timeframeProblem(prefix: string, timeframe: string, configured: readonly string[], option: string): string | undefined {
  if (configured.includes(timeframe)) return undefined;
  let ms = timeframeMsCache.get(timeframe);
  if (ms === undefined) {
    ms = parseDuration(timeframe, 'timeframe');
    timeframeMsCache.set(timeframe, ms);
  }
  for (const tf of configured) if (parseDuration(tf, option) === ms) return undefined;
  return `no ClickHouse table ${prefix}_${timeframe} for timeframe "${timeframe}" (configured: ${configured.join(', ')}); add it to the store's ${option} option`;
}

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
export class ClickHouseStore {
  private readonly candleTables: Map<string | number, TableSpec>[];
  private readonly profileTables: Map<string | number, TableSpec>[];
  private readonly tickCountTables: Map<string | number, TableSpec>[];
  private readonly shardBySymbol = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly shardList: readonly Shard[],
    /** @internal */ readonly options: ParsedOptions,
  ) {
    this.candleTables = shardList.map((s) => tableIndex(s.schema.candles));
    this.profileTables = shardList.map((s) => tableIndex(s.schema.volumeProfiles));
    this.tickCountTables = shardList.map((s) => tableIndex(s.schema.tickCounts));
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
    const urls = o.url === undefined ? [] : typeof o.url === 'string' ? [o.url] : o.url;
    const entries =
      o.clients !== undefined
        ? o.clients.map((client, i) => ({ url: `client #${i + 1}`, client, owned: false }))
        : urls.map((url) => ({
            url: safeUrl(url),
            owned: true,
            client: createClient({
              url,
              username: o.username,
              password: o.password,
              request_timeout: parseDuration(o.requestTimeout, 'requestTimeout'),
              max_open_connections: o.maxOpenConnections,
              compression: { request: false, response: false },
              application: 'tickflow',
              log: { level: ClickHouseLogLevel.OFF },
            }),
          }));
    const ttlMs = o.tradesTtl === false ? undefined : parseDuration(o.tradesTtl, 'tradesTtl');
    const results = await Promise.allSettled(
      entries.map(async (e, i) => {
        const schema = await prepareShard(e.client, e.url, o, ttlMs);
        log(`tickflow clickhouse: shard ${i + 1}/${entries.length} (${e.url}): ${schema.summary}`);
        return { ...e, schema };
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(entries.filter((e) => e.owned).map((e) => e.client.close().catch(() => undefined)));
      throw failed.reason;
    }
    return new ClickHouseStore(
      results.map((r) => (r as PromiseFulfilledResult<Shard>).value),
      o,
    );
  }

  /** The shards (servers) in order, with the capabilities each schema was built for. */
  get shards(): readonly ClickHouseShardInfo[] {
    return this.shardList.map((s) => ({ url: s.url, capabilities: s.schema.capabilities }));
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
    let s = this.shardBySymbol.get(symbol);
    if (s === undefined) {
      s = shardOf(symbol, this.shardList.length);
      if (this.shardBySymbol.size > 100_000) this.shardBySymbol.clear();
      this.shardBySymbol.set(symbol, s);
    }
    return s;
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
    const rows = await this.select(range, (s) => s.schema.trades, decodeTrade, range.limit, 'key');
    return rows;
  }

  /** Candles of one timeframe with start in [from, to), ordered by start (then symbol), the highest rev of each. */
  async readCandles(range: ClickHouseReadRange & { readonly timeframe: string }): Promise<Candle[]> {
    const tf = range.timeframe;
    if (tf === viewTimeframe(this.options)) return this.readCandleView(range);
    return this.select(range, (s, i) => this.tableOrThrow(this.candleTables[i]!, s.schema.candles, 'ohlc', tf, 'timeframes'), (r, t) => decodeCandle(r, t.timeframe!));
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
    const first = this.shardList[0]!;
    return new ClickHouseCorrelationMatrices(first.client, first.schema.capabilities, this.options.database);
  }

  /** Candles ClickHouse built from `trades_raw` (option `candleView`), merged across shards, ordered by start then symbol. */
  private async readCandleView(range: ClickHouseReadRange): Promise<Candle[]> {
    this.checkOpen();
    const spec = { database: this.options.database, timeframe: viewTimeframe(this.options)! };
    const targets = range.symbol !== undefined ? [this.shardOf(range.symbol)] : this.shardList.map((_, i) => i);
    const parts = await Promise.all(targets.map((i) => readCandleView(this.shardList[i]!.client, this.shardList[i]!.schema.capabilities, spec, range)));
    return parts.flat().sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  /** Volume profiles of one timeframe (default the first configured) with start in [from, to). */
  async readVolumeProfiles(range: ClickHouseReadRange & { readonly timeframe?: string | undefined } = {}): Promise<VolumeProfile[]> {
    const tf = range.timeframe ?? this.options.profileTimeframes[0]!;
    return this.select(range, (s, i) => this.tableOrThrow(this.profileTables[i]!, s.schema.volumeProfiles, 'volume_profile', tf, 'profileTimeframes'), (r, t) => decodeVolumeProfile(r, t.timeframe!));
  }

  /** Tick counts of one timeframe (default the first configured) with start in [from, to). */
  async readTickCounts(range: ClickHouseReadRange & { readonly timeframe?: string | undefined } = {}): Promise<TickCount[]> {
    const tf = range.timeframe ?? this.options.tickCountTimeframes[0]!;
    return this.select(range, (s, i) => this.tableOrThrow(this.tickCountTables[i]!, s.schema.tickCounts, 'tick_count', tf, 'tickCountTimeframes'), (r, t) => decodeTickCount(r, t.timeframe!));
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
    await Promise.all(this.shardList.filter((s) => s.owned).map((s) => s.client.close().catch(() => undefined)));
  }

  /** @internal Writes trades already validated, keyed by `keyOf`. */
  async insertTrades(rows: readonly Trade[], keyOf: TradeKeyOf): Promise<void> {
    if (rows.length === 0) return;
    this.checkOpen();
    const perShard = this.splitByShard(rows);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < perShard.length; i++) {
      const part = perShard[i]!;
      if (part.length === 0) continue;
      const shard = this.shardList[i]!;
      const table = shard.schema.trades;
      if (this.options.insertFormat === 'RowBinary') {
        const w = new RowBinaryWriter(part.length * 96);
        for (let j = 0; j < part.length; j++) {
          const t = part[j]!;
          encodeTrade(w, t, keyOf(t));
        }
        jobs.push(this.insertBinary(shard, table, w.finish(), part.length));
      } else {
        jobs.push(this.insertJson(shard, table, part.map((t) => tradeJson(t, keyOf(t)))));
      }
    }
    await settleAll(jobs);
  }

  /** @internal Writes aggregate rows already validated. */
  async insertAggregates<K extends 'candles' | 'volumeProfiles' | 'tickCounts'>(kind: K, rows: readonly ClickHouseRowOfKind[K][]): Promise<void> {
    if (rows.length === 0) return;
    this.checkOpen();
    const perShard = this.splitByShard(rows);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < perShard.length; i++) {
      const part = perShard[i]!;
      if (part.length === 0) continue;
      const shard = this.shardList[i]!;
      const index = kind === 'candles' ? this.candleTables[i]! : kind === 'volumeProfiles' ? this.profileTables[i]! : this.tickCountTables[i]!;
      // Group by table (timeframe): usually one group.
      const groups = new Map<TableSpec, ClickHouseRowOfKind[K][]>();
      for (let j = 0; j < part.length; j++) {
        const row = part[j]!;
        const table = findTable(index, row.timeframe);
        if (table === undefined) throw new TickflowError('INVALID_ARGUMENT', `no ClickHouse table for timeframe "${row.timeframe}"`);
        let g = groups.get(table);
        if (g === undefined) groups.set(table, (g = []));
        g.push(row);
      }
      for (const [table, group] of groups) {
        if (this.options.insertFormat === 'RowBinary') {
          const w = new RowBinaryWriter(group.length * (kind === 'volumeProfiles' ? 512 : 128));
          if (kind === 'candles') for (const c of group as Candle[]) encodeCandle(w, c);
          else if (kind === 'volumeProfiles') for (const v of group as VolumeProfile[]) encodeVolumeProfile(w, v);
          else for (const t of group as TickCount[]) encodeTickCount(w, t);
          jobs.push(this.insertBinary(shard, table, w.finish(), group.length));
        } else {
          const json = kind === 'candles' ? (group as Candle[]).map(candleJson) : kind === 'volumeProfiles' ? (group as VolumeProfile[]).map(volumeProfileJson) : (group as TickCount[]).map(tickCountJson);
          jobs.push(this.insertJson(shard, table, json));
        }
      }
    }
    await settleAll(jobs);
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

  private splitByShard<T extends { readonly symbol: string }>(rows: readonly T[]): (readonly T[])[] {
    const n = this.shardList.length;
    if (n === 1) return [rows];
    const out: T[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < rows.length; i++) out[this.shardOf(rows[i]!.symbol)]!.push(rows[i]!);
    return out;
  }

  private tableOrThrow(index: Map<string | number, TableSpec>, tables: ReadonlyMap<string, TableSpec>, prefix: string, timeframe: string, option: string): TableSpec {
    const t = findTable(index, timeframe);
    if (t === undefined) throw new TickflowError('INVALID_ARGUMENT', `no ClickHouse table ${prefix}_${timeframe} (configured timeframes: ${[...tables.keys()].join(', ')}); add "${timeframe}" to the store's ${option} option`);
    return t;
  }

  private async insertBinary(shard: Shard, table: TableSpec, body: Buffer, rows: number): Promise<void> {
    const cols = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    try {
      const res = await shard.client.exec({ query: `INSERT INTO ${quoteIdent(shard.schema.database)}.${quoteIdent(table.name)} (${cols}) FORMAT RowBinary`, values: Readable.from([body], { objectMode: false }) });
      await drainStream(res.stream);
    } catch (e) {
      throw insertError(shard, table, rows, e);
    }
  }

  private async insertJson(shard: Shard, table: TableSpec, values: Record<string, unknown>[]): Promise<void> {
    try {
      await shard.client.insert({ table: `${quoteIdent(shard.schema.database)}.${quoteIdent(table.name)}`, values, format: 'JSONEachRow', columns: table.columns.map((c) => c.name) as [string, ...string[]] });
    } catch (e) {
      throw insertError(shard, table, values.length, e);
    }
  }

  private async select<T extends { readonly symbol: string }>(
    range: ClickHouseReadRange,
    tableOf: (shard: Shard, index: number) => TableSpec,
    decode: (r: RowBinaryReader, table: TableSpec) => T,
    limit?: number,
    tieBreak?: string,
  ): Promise<T[]> {
    this.checkOpen();
    if (range.symbol !== undefined && typeof range.symbol !== 'string') throw new TickflowError('INVALID_ARGUMENT', 'symbol must be a string');
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new TickflowError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${limit}`);
    const targets = range.symbol !== undefined ? [this.shardOf(range.symbol)] : this.shardList.map((_, i) => i);
    const parts = await Promise.all(
      targets.map(async (i) => {
        const shard = this.shardList[i]!;
        const table = tableOf(shard, i);
        const sql = selectSql(shard.schema, table, range, limit, tieBreak);
        let body: Buffer;
        try {
          const res = await shard.client.exec({ query: sql });
          body = await readAll(res.stream);
        } catch (e) {
          throw new TickflowError('SINK_FAILED', `ClickHouse ${shard.url}: reading ${shard.schema.database}.${table.name} failed: ${describeError(e)}; check that the server is up`, { cause: e });
        }
        const r = new RowBinaryReader(body);
        const out: T[] = [];
        while (!r.done) out.push(decode(r, table));
        return out;
      }),
    );
    if (parts.length === 1) return parts[0]!;
    // Merge shards by time, then symbol (each part is sorted; a stable sort keeps ties in shard order).
    const timeOf = (row: T): number => (row as unknown as { ts?: number; start?: number }).ts ?? (row as unknown as { start: number }).start;
    const merged = parts.flat().sort((a, b) => timeOf(a) - timeOf(b) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return limit !== undefined ? merged.slice(0, limit) : merged;
  }
}

/**
 * The SELECT of a read: FINAL (one row per key, highest rev), times as
 * epoch ms, ordered by time then symbol, in RowBinary. Literals are inlined
 * (quoted) because 18.16 has no query parameters.
 *
 * @example
 * ```ts
 * const schema = clickHouseSchema(clickHouseCapabilities('18.16.1'), { database: 'tickflow', timeframes: ['1m'], profileTimeframes: ['1m'], tickCountTimeframes: ['1m'], tradesTtlMs: undefined });
 * selectSql(schema, schema.candles.get('1m')!, { symbol: 'AAPL', from: 0, to: 60_000 });
 * // SELECT `symbol`, `start`, … FROM `tickflow`.`ohlc_1m` FINAL WHERE symbol = 'AAPL' AND `start` >= 0 AND `start` < 60000 ORDER BY `start`, symbol FORMAT RowBinary
 * ```
 */
export function selectSql(schema: ClickHouseSchema, table: TableSpec, range: ClickHouseReadRange, limit?: number, tieBreak?: string): string {
  const caps = schema.capabilities;
  const cols = table.columns.map((c) => (c.kind === 'time' ? timeToMs(quoteIdent(c.name), caps) : quoteIdent(c.name))).join(', ');
  const where: string[] = [];
  const time = quoteIdent(table.timeColumn);
  if (range.symbol !== undefined) where.push(`symbol = ${quoteString(range.symbol)}`);
  if (range.from !== undefined) where.push(`${time} >= ${msToTime(range.from, caps)}`);
  if (range.to !== undefined) where.push(`${time} < ${msToTime(range.to, caps)}`);
  const order = [time, 'symbol', ...(tieBreak !== undefined ? [quoteIdent(tieBreak)] : [])].join(', ');
  return `SELECT ${cols} FROM ${quoteIdent(schema.database)}.${quoteIdent(table.name)} FINAL${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}${limit !== undefined ? ` LIMIT ${limit}` : ''} FORMAT RowBinary`;
}

function insertError(shard: Shard, table: TableSpec, rows: number, e: unknown): TickflowError {
  return new TickflowError('SINK_FAILED', `ClickHouse ${shard.url}: inserting ${rows} rows into ${shard.schema.database}.${table.name} failed: ${describeError(e)}; check that the server is up (a sink retries the batch: writes are idempotent)`, { cause: e });
}

async function settleAll(jobs: Promise<void>[]): Promise<void> {
  if (jobs.length === 1) return jobs[0];
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

async function queryJson<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Detects a shard's capabilities, creates the database and tables, checks existing tables. */
async function prepareShard(client: ClickHouseClient, url: string, o: ParsedOptions, ttlMs: number | undefined): Promise<ClickHouseSchema> {
  let step = 'reading the server version';
  try {
    const [row] = await queryJson<{ v: string }>(client, 'SELECT version() AS v');
    if (row === undefined) throw new Error('SELECT version() returned no row');
    const server = clickHouseCapabilities(row.v);
    const schemaOptions = { database: o.database, timeframes: o.timeframes, profileTimeframes: o.profileTimeframes, tickCountTimeframes: o.tickCountTimeframes, tradesTtlMs: ttlMs };
    step = `creating database ${o.database}`;
    await client.command({ query: clickHouseSchema(server, schemaOptions).statements[0]! });
    step = 'reading existing tables';
    const existing = await queryJson<{ table: string; name: string; type: string }>(client, `SELECT table, name, type FROM system.columns WHERE database = ${quoteString(o.database)}`);
    const caps = adoptExistingTypes(server, existing);
    const schema = clickHouseSchema(caps, schemaOptions);
    for (const sql of schema.statements.slice(1)) {
      step = `running ${sql.split('\n')[0]}`;
      await client.command({ query: sql });
    }
    const view = viewTimeframe(o);
    if (view !== undefined) {
      for (const sql of candleViewStatements(caps, { database: o.database, timeframe: view })) {
        step = `running ${sql.split('\n')[0]}`;
        await client.command({ query: sql });
      }
    }
    step = 'checking the tables';
    const now = existing.length > 0 ? await queryJson<{ table: string; name: string; type: string }>(client, `SELECT table, name, type FROM system.columns WHERE database = ${quoteString(o.database)}`) : [];
    if (now.length > 0) checkTables(schema, now);
    return schema;
  } catch (e) {
    if (e instanceof TickflowError) throw e;
    throw new TickflowError('SINK_FAILED', `ClickHouse ${url}: ${step} failed: ${describeError(e)}; check the url, credentials and that the server is up`, { cause: e });
  }
}

/**
 * Tables created earlier (e.g. before a server upgrade) keep their types: if
 * an existing table stores times as UInt64 or symbols as String, the schema
 * uses the same, so old and new tables stay readable with one set of SQL.
 */
function adoptExistingTypes(server: ClickHouseCapabilities, columns: readonly { table: string; name: string; type: string }[]): ClickHouseCapabilities {
  let { dateTime64, lowCardinality } = server;
  for (const c of columns) {
    if (c.table !== 'trades_raw' && !/^(ohlc|volume_profile|tick_count)_/.test(c.table)) continue;
    if (c.name === 'ts' || c.name === 'start') dateTime64 = c.type.startsWith('DateTime64');
    if (c.name === 'symbol') lowCardinality = c.type.startsWith('LowCardinality');
  }
  return { ...server, dateTime64, lowCardinality };
}

function checkTables(schema: ClickHouseSchema, columns: readonly { table: string; name: string; type: string }[]): void {
  const tables = [schema.trades, ...schema.candles.values(), ...schema.volumeProfiles.values(), ...schema.tickCounts.values()];
  for (const t of tables) {
    const have = columns.filter((c) => c.table === t.name);
    const want = t.columns.map((c) => `${c.name} ${columnType(c.kind, schema.capabilities)}`);
    const got = have.map((c) => `${c.name} ${c.type}`);
    const missing = want.filter((w) => !got.includes(w));
    if (missing.length > 0) {
      throw new TickflowError(
        'SINK_FAILED',
        `ClickHouse table ${schema.database}.${t.name} exists but does not match what tickflow writes (missing or different: ${missing.join(', ')}; found: ${got.join(', ')}); drop or rename it, or use another database`,
      );
    }
  }
}

/**
 * The SinkTarget of a ClickHouse sink: validates rows (and keys trades
 * without an exchange id, once, in arrival order, so retries resend the same
 * keys), then writes them through a store.
 * @internal
 */
export class ClickHouseTarget<K extends ClickHouseSinkKind> {
  readonly name: string;
  private readonly keyer = new TradeKeyer();
  private readonly keyOf: TradeKeyOf = (t) => this.keyer.keyOnce(t);

  constructor(
    private readonly kind: K,
    private readonly options: ParsedOptions,
    private readonly store: () => Promise<ClickHouseStore>,
    private readonly ownsStore: boolean,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.name = `clickhouse:${kind}`;
  }

  validate(row: ClickHouseRowOfKind[K]): string | undefined {
    const p = rowProblem(this.kind, row, this.options);
    // Keys are given in arrival order; the same object seen again is a re-delivery and keeps its key.
    if (p === undefined && this.kind === 'trades') this.keyer.keyOnce(row as Trade);
    return p;
  }

  async writeRows(rows: readonly ClickHouseRowOfKind[K][]): Promise<void> {
    const store = await this.store();
    if (this.kind === 'trades') await store.insertTrades(rows as readonly Trade[], this.keyOf);
    else await store.insertAggregates(this.kind as 'candles' | 'volumeProfiles' | 'tickCounts', rows as readonly ClickHouseRowOfKind['candles' | 'volumeProfiles' | 'tickCounts'][]);
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.onClose?.();
  }
}
