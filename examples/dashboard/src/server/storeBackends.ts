import type { CheckpointStore } from '@tickflow/core/kafka';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { RangeStore, Sink, SinkOptions, SinkStats } from '@tickflow/sinks';
import type { RedisStore } from '@tickflow/sinks/redis';
import { HttpError } from './httpErrors.js';
import type { BreakerState } from './readBreaker.js';
import { ReadBreaker } from './readBreaker.js';
import type { InMemoryMarketStore, StoredTrade, SymbolStats, TradePage } from './marketStore.js';
import { statsOf } from './marketStore.js';
import { PROFILE_TIMEFRAMES, TICK_TIMEFRAMES } from './marketFeed.js';
import type { RedisTarget } from './serverConfig.js';
import { CANDLE_TIMEFRAMES, redisConnection } from './serverConfig.js';

/** Where a read was answered: a configured store or the in-process one. */
export type DataSource = 'clickhouse' | 'postgres' | 'memory';

/** A read result with the store that answered it. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: DataSource;
}

/** What the feed hands to the stores: every window update and every raw trade batch. A returned promise is backpressure. */
export interface StoreOutputs {
  trades(batch: readonly Trade[]): void | Promise<void>;
  candles(batch: readonly Candle[]): void | Promise<void>;
  profiles(batch: readonly VolumeProfile[]): void | Promise<void>;
  ticks(batch: readonly TickCount[]): void | Promise<void>;
  quotes(batch: readonly Quote[]): void | Promise<void>;
}

type Range = { symbol: string; from: number; to: number; limit: number };
type SinkSet = { trades: Sink<Trade>; candles: Sink<Candle>; profiles: Sink<VolumeProfile>; ticks: Sink<TickCount>; quotes?: Sink<Quote> };

/** One configured range store (ClickHouse or Timescale, through the RangeStore contract of @tickflow/sinks): its read breaker, the store and its sinks. */
interface Backend {
  readonly source: Exclude<DataSource, 'memory'>;
  readonly breaker: ReadBreaker;
  readonly reader: RangeStore;
  /** Undefined when this process only reads (the ingest worker writes). */
  readonly sinks: SinkSet | undefined;
}

/** Redis: latest prices and windows (sinks), the last trade of symbols ingested elsewhere. */
interface RedisSide {
  readonly store: RedisStore;
  readonly breaker: ReadBreaker;
  readonly sinks: SinkSet | undefined;
}

/** Settings of the full-mode stores. */
export interface StoreBackendOptions {
  readonly clickhouseUrls?: readonly string[] | undefined;
  readonly databaseUrl?: string | undefined;
  readonly redis?: RedisTarget | undefined;
  readonly clickhouseMaxConnections?: number;
  readonly databasePoolMax?: number;
  /** Rows a sink may hold while its store is down. */
  readonly maxBufferedRows: number;
  /**
   * `drop` (synthetic feed: the live feed never waits; rows beyond the buffer
   * are dropped and counted) or `wait` (Kafka: a full sink returns a promise,
   * the consumer pauses its partitions and commits nothing undurable).
   */
  readonly whenFull: 'drop' | 'wait';
  /** False: readers only, no sinks (the ingest worker has its own StoreBackends that writes). Default true. */
  readonly writes?: boolean;
  readonly log: (message: string) => void;
  readonly warn: (message: string) => void;
  readonly onBreaker?: (name: string, state: BreakerState) => void;
  /** Called when a sink batch became durable (sink latency metric). */
  readonly onWritten?: (store: string, table: string, ms: number) => void;
}

/** Figures of one store for /healthz and /metrics. */
export interface StoreStats {
  readonly readBreaker: BreakerState;
  readonly readBreakerOpens: number;
  readonly sinks: Record<string, SinkStats>;
}

/** The sink figures of the StoreBackends that writes (in the ingest worker), by store and table. */
export interface WriterStats {
  readonly sinks: Record<string, Record<string, SinkStats>>;
  readonly droppedRows: number;
}

/** Answered when a read needs a configured store and none can answer (503 with Retry-After). */
export class StoresUnavailable extends HttpError {
  constructor(what: string, stores: readonly { source: string; state: BreakerState }[]) {
    super(503, `${what}: no store can answer (${stores.map((s) => `${s.source} breaker ${s.state}`).join(', ')}) and the in-process store does not hold the whole range; retry shortly or ask for a range after the server started`, { 'retry-after': '1' });
  }
}

/** How long `tickflow serve` waits at start for a configured store that does not answer (a restart during an outage). */
const CONNECT_PATIENCE_MS = 120_000;

/**
 * Connects to a store, trying again with backoff while it is unreachable,
 * for up to two minutes: a server restarted while ClickHouse or PostgreSQL
 * is down waits for it (Kafka keeps the trades) instead of exiting. Bad
 * settings (INVALID_ARGUMENT) fail at once.
 */
async function untilConnected<S>(what: string, o: { warn: (m: string) => void }, connect: () => Promise<S>): Promise<S> {
  const deadline = Date.now() + CONNECT_PATIENCE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'INVALID_ARGUMENT' || Date.now() >= deadline) throw e;
      o.warn(`${what} is not reachable yet (attempt ${attempt}: ${e instanceof Error ? e.message : String(e)}); trying again until ${new Date(deadline).toISOString()}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
}

/**
 * The configured stores: ClickHouse, then PostgreSQL, for range reads (each
 * behind a read breaker, the in-process store last), Redis for latest values,
 * and every store's sinks for the feed's outputs.
 */
export class StoreBackends implements StoreOutputs {
  private dropped = 0;
  private warnedDrop = false;
  private waits: Promise<void>[] = [];
  private writer: (() => WriterStats) | undefined;

  private constructor(
    private readonly backends: readonly Backend[],
    private readonly redis: RedisSide | undefined,
    private readonly memory: InMemoryMarketStore,
    private readonly o: StoreBackendOptions,
    /** Kafka window checkpoints in PostgreSQL, when it is configured (shared by the processes of a consumer group). */
    readonly checkpoints: CheckpointStore | undefined,
  ) {}

  /** Connects the stores that are configured (none: undefined, embedded mode). The drivers load only when used. */
  static async connect(o: StoreBackendOptions, memory: InMemoryMarketStore): Promise<StoreBackends | undefined> {
    const backends: Backend[] = [];
    let redis: RedisSide | undefined;
    let checkpoints: CheckpointStore | undefined;
    // ClickHouse wants few large inserts (each insert is a part to merge): 1 s batches of up to 50 000 rows
    // took its CPU in a full-mode drain from ~0.5 to ~0.3 cores at the same rate; the others write every 250 ms.
    const sinkOptions = (store: string, table: string): SinkOptions => ({
      maxBatchSize: store === 'clickhouse' ? 50_000 : 5_000,
      maxBatchAge: store === 'clickhouse' ? 1_000 : 250,
      maxBufferedRows: o.maxBufferedRows,
      retry: { initialDelay: 50, maxDelay: 1_000 },
      breaker: { resetTimeout: 500, volumeThreshold: 2, errorThresholdPercentage: 50, timeout: 5_000 },
      warn: (m) => o.warn(`${store} ${table} sink: ${m}`),
    });
    const watch = <S extends SinkSet>(store: string, sinks: S): S => {
      for (const [table, sink] of Object.entries(sinks) as [string, Sink<unknown>][]) sink.on('written', ({ ms }) => o.onWritten?.(store, table, ms));
      return sinks;
    };
    const add = (source: Backend['source'], reader: RangeStore): void => {
      const opts = (t: string) => sinkOptions(source, t);
      const sinks = o.writes === false ? undefined : watch(source, { trades: reader.sink('trades', opts('trades')), candles: reader.sink('candles', opts('candles')), profiles: reader.sink('volumeProfiles', opts('profiles')), ticks: reader.sink('tickCounts', opts('ticks')) });
      backends.push({ source, breaker: new ReadBreaker(source, o.onBreaker), reader, sinks });
    };
    try {
      if (o.clickhouseUrls !== undefined && o.clickhouseUrls.length > 0) {
        const { ClickHouseStore } = await import('@tickflow/sinks/clickhouse');
        const urls = o.clickhouseUrls;
        const ch = await untilConnected('ClickHouse', o, () => ClickHouseStore.connect({
          url: urls.length === 1 ? urls[0]! : [...urls],
          timeframes: [...CANDLE_TIMEFRAMES],
          profileTimeframes: [...PROFILE_TIMEFRAMES],
          tickCountTimeframes: [...TICK_TIMEFRAMES],
          requestTimeout: 5_000,
          maxOpenConnections: o.clickhouseMaxConnections ?? 10,
          log: o.log,
        }));
        add('clickhouse', ch);
      }
      if (o.databaseUrl !== undefined) {
        const { TimescaleStore } = await import('@tickflow/sinks/timescale');
        const url = o.databaseUrl;
        const pg = await untilConnected('PostgreSQL', o, () => TimescaleStore.connect({ url, maxConnections: o.databasePoolMax ?? 10, log: o.log }));
        checkpoints = pg.checkpoints();
        add('postgres', pg);
      }
      if (o.redis !== undefined) {
        const { RedisStore } = await import('@tickflow/sinks/redis');
        const redisTarget = o.redis;
        // publish: false — WebSocket fan-out across nodes has its own Redis bridge (ws-server), nothing reads the store's channel.
        const store = await untilConnected('Redis', o, () => RedisStore.connect({ ...redisConnection(redisTarget), publish: false, log: o.log }));
        const opts = (k: string) => sinkOptions('redis', k);
        const sinks = o.writes === false ? undefined : watch('redis', { trades: store.sink('trades', opts('trades')), candles: store.sink('candles', opts('candles')), profiles: store.sink('volumeProfiles', opts('profiles')), ticks: store.sink('tickCounts', opts('ticks')), quotes: store.sink('quotes', opts('quotes')) });
        redis = { store, breaker: new ReadBreaker('redis', o.onBreaker), sinks };
      }
    } catch (e) {
      await Promise.all(backends.map((b) => closeSinks(b.sinks, b.reader.close.bind(b.reader), b.breaker)));
      throw e;
    }
    return backends.length === 0 && redis === undefined ? undefined : new StoreBackends(backends, redis, memory, o, checkpoints);
  }

  /** The stores in read order, e.g. ['clickhouse', 'postgres', 'memory']. */
  get order(): DataSource[] {
    return [...this.backends.map((b) => b.source), 'memory'];
  }

  /** Whether Redis is configured (latest prices, the shared aggregate cache). */
  get hasRedis(): boolean {
    return this.redis !== undefined;
  }

  /** Sink counters and read breaker state of each store, plus rows dropped because a sink's buffer was full. */
  stats(): { stores: Record<string, StoreStats>; droppedRows: number } {
    // The sink figures are this process's own, or those of the StoreBackends that writes (the ingest worker).
    const writer = this.writer?.() ?? this.writerStats();
    const stores: Record<string, StoreStats> = {};
    for (const b of this.backends) stores[b.source] = { readBreaker: b.breaker.state, readBreakerOpens: b.breaker.opens, sinks: writer.sinks[b.source] ?? {} };
    if (this.redis !== undefined) stores.redis = { readBreaker: this.redis.breaker.state, readBreakerOpens: this.redis.breaker.opens, sinks: writer.sinks.redis ?? {} };
    return { stores, droppedRows: writer.droppedRows };
  }

  /** The sink figures of every store, by store name and table (what the ingest worker reports to the main thread). */
  writerStats(): WriterStats {
    const sinks: Record<string, Record<string, SinkStats>> = {};
    const of = (s: SinkSet | undefined): Record<string, SinkStats> => (s === undefined ? {} : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, (v as Sink<unknown>).stats])));
    for (const b of this.backends) sinks[b.source] = of(b.sinks);
    if (this.redis !== undefined) sinks.redis = of(this.redis.sinks);
    return { sinks, droppedRows: this.dropped };
  }

  /** A read-only StoreBackends shows the sink figures of the one that writes (in the ingest worker). */
  showWriterStats(stats: () => WriterStats): void {
    this.writer = stats;
  }

  trades(batch: readonly Trade[]): void | Promise<void> {
    return this.fanOut('trades', batch);
  }

  candles(batch: readonly Candle[]): void | Promise<void> {
    return this.fanOut('candles', batch);
  }

  profiles(batch: readonly VolumeProfile[]): void | Promise<void> {
    return this.fanOut('profiles', batch);
  }

  ticks(batch: readonly TickCount[]): void | Promise<void> {
    return this.fanOut('ticks', batch);
  }

  /** Hands a batch to the sink of that kind of every store (Redis included); a promise when one pushes back. */
  private fanOut(kind: 'trades' | 'candles' | 'profiles' | 'ticks', batch: readonly unknown[]): void | Promise<void> {
    for (const b of this.backends) if (b.sinks !== undefined) this.offer(b.sinks[kind] as Sink<unknown>, batch);
    if (this.redis?.sinks !== undefined) this.offer(this.redis.sinks[kind] as Sink<unknown>, batch);
    return this.drained();
  }

  quotes(batch: readonly Quote[]): void | Promise<void> {
    if (this.redis?.sinks?.quotes !== undefined) this.offer(this.redis.sinks.quotes, batch);
    return this.drained();
  }

  /** Resolves when every sink made what it was given durable (awaited before a Kafka offset commit). */
  async flush(): Promise<void> {
    const all: Sink<unknown>[] = [];
    for (const b of this.backends) if (b.sinks !== undefined) all.push(...(Object.values(b.sinks) as Sink<unknown>[]));
    if (this.redis?.sinks !== undefined) all.push(...(Object.values(this.redis.sinks) as Sink<unknown>[]));
    await Promise.all(all.map((s) => s.flush()));
  }

  private offer<T>(sink: Sink<T>, batch: readonly T[]): void {
    if (batch.length === 0) return;
    if (this.o.whenFull === 'drop' && sink.stats.buffered >= this.o.maxBufferedRows) {
      this.dropped += batch.length;
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.o.warn(`${sink.name}: buffer full (store unavailable?): dropping rows of the synthetic feed until it drains (counted in droppedRows)`);
      }
      return;
    }
    const wait = sink.enqueue(batch);
    if (wait !== undefined) {
      if (this.o.whenFull === 'wait') this.waits.push(wait);
      else wait.catch(() => undefined);
    }
  }

  private drained(): Promise<void> | undefined {
    if (this.waits.length === 0) return undefined;
    const waits = this.waits;
    this.waits = [];
    return Promise.all(waits).then(() => undefined);
  }

  /** Candles from the first store whose breaker lets the read through and that answers, else the in-process store (or 503). */
  candlesOf(q: Range & { timeframe: string }): Promise<Sourced<Candle[]>> {
    return this.read(
      `candles of ${q.symbol} ${q.timeframe}`,
      (b) => b.reader.readCandles(q).then((l) => newest(l, q.limit)),
      () => this.memory.candles(q),
      (got) => this.memory.covers('candles', q, got.length),
    );
  }

  profilesOf(q: Range & { timeframe: string }): Promise<Sourced<VolumeProfile[]>> {
    return this.read(
      `volume profiles of ${q.symbol} ${q.timeframe}`,
      (b) => b.reader.readVolumeProfiles(q).then((l) => newest(l, q.limit)),
      () => this.memory.profiles(q),
      (got) => this.memory.covers('profiles', q, got.length),
    );
  }

  /**
   * Raw trades, paginated. Store cursors are `ts * 1000 + n` (n: trades at
   * that millisecond already returned); the in-process store's are sequence
   * numbers, so a cursor belongs to the source that issued it (x-data-source).
   */
  tradesOf(q: Range & { cursor: number }): Promise<Sourced<TradePage>> {
    return this.read(
      `trades of ${q.symbol}`,
      (b) => storePage(b, q),
      () => this.memory.trades(q),
      (got) => q.cursor > 0 || this.memory.covers('trades', q, got.trades.length),
    );
  }

  /** The latest trade: the in-process store, else Redis (symbols ingested by another node). */
  async lastTrade(symbol: string): Promise<Trade | undefined> {
    const held = this.memory.lastTrade(symbol);
    if (held !== undefined || this.redis === undefined) return held;
    const r = this.redis;
    return r.breaker.fire(() => r.store.getLastTrade(symbol)).catch(() => undefined);
  }

  /** 24h stats from the stores' 1m candles (they outlive restarts), the in-process store when none answers. */
  async statsOf(symbol: string, now: number): Promise<{ stats: SymbolStats | undefined; source: DataSource }> {
    const last = await this.lastTrade(symbol);
    if (last === undefined) return { stats: undefined, source: 'memory' };
    const r = await this.read(`24h stats of ${symbol}`, (b) => b.reader.readCandles({ symbol, timeframe: '1m', from: now - 86_400_000, to: now + 60_000, limit: 1_500 }), () => this.memory.candles({ symbol, timeframe: '1m', from: now - 86_400_000, to: Number.POSITIVE_INFINITY, limit: 1_500 }), () => true);
    const ticks = r.source === 'memory' ? this.memory.ticksLastMinute(symbol) : (r.value.at(-1)?.trades ?? 0);
    return { stats: statsOf(symbol, last, r.value, ticks), source: r.source };
  }

  private async read<T>(what: string, fromStore: (b: Backend) => Promise<T>, fromMemory: () => Promise<T>, complete: (value: T) => boolean): Promise<Sourced<T>> {
    for (const b of this.backends) {
      try {
        return { value: await b.breaker.fire(() => fromStore(b)), source: b.source };
      } catch {
        // next store
      }
    }
    const value = await fromMemory();
    if (this.backends.length > 0 && !complete(value)) throw new StoresUnavailable(what, this.backends.map((b) => ({ source: b.source, state: b.breaker.state })));
    return { value, source: 'memory' };
  }

  /** The connected range stores in read order (the ClickHouseStore or TimescaleStore behind each source), for the analytics routes (analyticsRoutes.ts). */
  get rangeStores(): readonly { readonly source: Exclude<DataSource, 'memory'>; readonly store: RangeStore }[] {
    return this.backends.map((b) => ({ source: b.source, store: b.reader }));
  }

  /** A read of another route module with this class's rule: each store behind its breaker, then the in-process answer when `complete`, else 503. */
  readFromStores<T>(what: string, fromStore: (store: RangeStore, source: Exclude<DataSource, 'memory'>) => Promise<T>, fromMemory: () => Promise<T>, complete: (value: T) => boolean): Promise<Sourced<T>> {
    return this.read(what, (b) => fromStore(b.reader, b.source), fromMemory, complete);
  }

  /** Flushes the sinks (bounded wait when a store is down) and closes the stores. */
  async close(flushMs = 3_000): Promise<void> {
    await Promise.all([
      ...this.backends.map((b) => closeSinks(b.sinks, () => b.reader.close(), b.breaker, flushMs)),
      ...(this.redis === undefined ? [] : [closeSinks(this.redis.sinks, () => this.redis!.store.close(), this.redis.breaker, flushMs)]),
    ]);
  }
}

async function closeSinks(sinks: SinkSet | undefined, closeStore: () => Promise<void>, breaker: ReadBreaker, flushMs = 0): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const all = sinks === undefined ? [] : (Object.values(sinks) as Sink<unknown>[]);
  await Promise.race([Promise.all(all.map((s) => s.close().catch(() => undefined))), new Promise<void>((r) => (timer = setTimeout(r, flushMs)))]);
  if (timer !== undefined) clearTimeout(timer);
  breaker.shutdown();
  await closeStore().catch(() => undefined);
}

function newest<T>(list: T[], limit: number): T[] {
  return list.length > limit ? list.slice(list.length - limit) : list;
}

async function storePage(b: Backend, q: Range & { cursor: number }): Promise<TradePage> {
  const cursorTs = Math.floor(q.cursor / 1000);
  const from = Math.max(q.from, cursorTs);
  const skip = cursorTs >= q.from && q.cursor > 0 ? q.cursor % 1000 : 0;
  const rows = await b.reader.readTrades({ symbol: q.symbol, from, to: q.to, limit: skip + q.limit + 1 });
  const page = rows.slice(skip, skip + q.limit);
  const out: StoredTrade[] = [];
  let lastTs = -1;
  let n = 0;
  for (const t of page) {
    if (t.ts === lastTs) n++;
    else {
      lastTs = t.ts;
      n = t.ts === from ? skip + 1 : 1;
    }
    out.push({ ...t, seq: t.ts * 1000 + n });
  }
  const more = rows.length > skip + q.limit;
  return { trades: out, nextCursor: more && out.length > 0 ? out[out.length - 1]!.seq : null };
}
