import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { Sink, SinkOptions, SinkStats } from '@tickflow/sinks';
import type { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import type { TimescaleStore } from '@tickflow/sinks/timescale';
import type { InMemoryMarketStore, StoredTrade, TradePage } from './marketStore.js';
import type { ReadBreakerState } from './readBreaker.js';
import { ReadBreaker } from './readBreaker.js';

/** Where a read was answered: a configured store or the in-process one. */
export type DataSource = 'clickhouse' | 'postgres' | 'memory';

/** A read result with the store that answered it. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: DataSource;
}

/** Candle timeframes written to the stores (the tables ClickHouse creates by default). */
export const STORED_CANDLE_TIMEFRAMES: readonly string[] = ['1m', '5m'];
const PROFILE_TIMEFRAMES = ['1m', '5m'];

/** What the feed hands to the stores: every window update and every raw trade batch. */
export interface StoreOutputs {
  trades(batch: readonly Trade[]): void;
  candles(batch: readonly Candle[]): void;
  profiles(batch: readonly VolumeProfile[]): void;
  ticks(batch: readonly TickCount[]): void;
}

type Range = { symbol: string; from: number; to: number; limit: number };

/** One configured store: its reads (the shape the REST layer needs) and its sinks. */
interface Backend {
  readonly source: Exclude<DataSource, 'memory'>;
  readonly breaker: ReadBreaker;
  readonly sinks: { trades: Sink<Trade>; candles: Sink<Candle>; profiles: Sink<VolumeProfile>; ticks: Sink<TickCount> };
  readTrades(q: Range): Promise<Trade[]>;
  readCandles(q: Range & { timeframe: string }): Promise<Candle[]>;
  readProfiles(q: Range & { timeframe: string }): Promise<VolumeProfile[]>;
  close(): Promise<void>;
}

/** Settings of the full-mode stores. */
export interface StoreBackendOptions {
  readonly clickhouseUrls?: readonly string[] | undefined;
  readonly databaseUrl?: string | undefined;
  /** Rows a sink may hold while its store is down before further rows are dropped (counted), so the live feed never waits. */
  readonly maxBufferedRows: number;
  readonly log: (message: string) => void;
  readonly warn: (message: string) => void;
  readonly onBreaker?: (name: string, state: ReadBreakerState) => void;
}

/** The configured stores, in read preference (ClickHouse, then PostgreSQL), with the in-process store last. */
export class StoreBackends implements StoreOutputs {
  private dropped = 0;
  private warnedDrop = false;

  private constructor(
    private readonly backends: readonly Backend[],
    private readonly memory: InMemoryMarketStore,
    private readonly maxBuffered: number,
    private readonly warn: (message: string) => void,
  ) {}

  /** Connects the stores that are configured (none: undefined, embedded mode). The drivers load only when used. */
  static async connect(o: StoreBackendOptions, memory: InMemoryMarketStore): Promise<StoreBackends | undefined> {
    const backends: Backend[] = [];
    const sinkOptions = (name: string): SinkOptions => ({
      maxBatchSize: 5_000,
      maxBatchAge: 250,
      maxBufferedRows: o.maxBufferedRows,
      retry: { initialDelay: 50, maxDelay: 1_000 },
      breaker: { resetTimeout: 500, volumeThreshold: 2, errorThresholdPercentage: 50, timeout: 5_000 },
      warn: (m) => o.warn(`${name} sink: ${m}`),
    });
    const breaker = (name: string) => new ReadBreaker(name, { failures: 2, resetTimeout: 1_000, timeout: 2_000 }, o.onBreaker);
    try {
      if (o.clickhouseUrls !== undefined && o.clickhouseUrls.length > 0) {
        const { ClickHouseStore } = await import('@tickflow/sinks/clickhouse');
        const ch: ClickHouseStore = await ClickHouseStore.connect({
          url: o.clickhouseUrls.length === 1 ? o.clickhouseUrls[0]! : [...o.clickhouseUrls],
          timeframes: [...STORED_CANDLE_TIMEFRAMES],
          profileTimeframes: PROFILE_TIMEFRAMES,
          tickCountTimeframes: ['1m'],
          requestTimeout: 5_000,
          log: o.log,
        });
        const opts = sinkOptions('clickhouse');
        backends.push({
          source: 'clickhouse',
          breaker: breaker('clickhouse'),
          sinks: { trades: ch.sink('trades', opts), candles: ch.sink('candles', opts), profiles: ch.sink('volumeProfiles', opts), ticks: ch.sink('tickCounts', opts) },
          readTrades: (q) => ch.readTrades(q),
          readCandles: (q) => ch.readCandles(q),
          readProfiles: (q) => ch.readVolumeProfiles(q),
          close: () => ch.close(),
        });
      }
      if (o.databaseUrl !== undefined) {
        const { TimescaleStore } = await import('@tickflow/sinks/timescale');
        const pg: TimescaleStore = await TimescaleStore.connect({ url: o.databaseUrl, log: o.log });
        const opts = sinkOptions('postgres');
        backends.push({
          source: 'postgres',
          breaker: breaker('postgres'),
          sinks: { trades: pg.sink('trades', opts), candles: pg.sink('candles', opts), profiles: pg.sink('volumeProfiles', opts), ticks: pg.sink('tickCounts', opts) },
          readTrades: (q) => pg.readTrades(q),
          readCandles: (q) => pg.readCandles(q),
          readProfiles: (q) => pg.readVolumeProfiles(q),
          close: () => pg.close(),
        });
      }
    } catch (e) {
      for (const b of backends) await closeBackend(b);
      throw e;
    }
    return backends.length === 0 ? undefined : new StoreBackends(backends, memory, o.maxBufferedRows, o.warn);
  }

  /** The stores in read order, e.g. ['clickhouse', 'postgres', 'memory']. */
  get order(): DataSource[] {
    return [...this.backends.map((b) => b.source), 'memory'];
  }

  /** Sink counters and read breaker state of each store, plus rows dropped because a sink's buffer was full. */
  stats(): { stores: Record<string, { readBreaker: ReadBreakerState; readBreakerOpens: number; sinks: Record<string, SinkStats> }>; droppedRows: number } {
    const stores: Record<string, { readBreaker: ReadBreakerState; readBreakerOpens: number; sinks: Record<string, SinkStats> }> = {};
    for (const b of this.backends) {
      stores[b.source] = {
        readBreaker: b.breaker.state,
        readBreakerOpens: b.breaker.opens,
        sinks: { trades: b.sinks.trades.stats, candles: b.sinks.candles.stats, profiles: b.sinks.profiles.stats, ticks: b.sinks.ticks.stats },
      };
    }
    return { stores, droppedRows: this.dropped };
  }

  trades(batch: readonly Trade[]): void {
    for (const b of this.backends) this.offer(b.sinks.trades, batch);
  }

  candles(batch: readonly Candle[]): void {
    const rows = batch.filter((c) => STORED_CANDLE_TIMEFRAMES.includes(c.timeframe));
    if (rows.length > 0) for (const b of this.backends) this.offer(b.sinks.candles, rows);
  }

  profiles(batch: readonly VolumeProfile[]): void {
    for (const b of this.backends) this.offer(b.sinks.profiles, batch);
  }

  ticks(batch: readonly TickCount[]): void {
    for (const b of this.backends) this.offer(b.sinks.ticks, batch);
  }

  /** The live feed never waits for a store: a sink with a full buffer (store down) drops the batch and counts it. */
  private offer<T>(sink: Sink<T>, batch: readonly T[]): void {
    if (sink.stats.buffered >= this.maxBuffered) {
      this.dropped += batch.length;
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.warn(`${sink.name}: buffer full (store unavailable?): dropping rows until it drains (counted in droppedRows)`);
      }
      return;
    }
    void sink.enqueue(batch);
  }

  /** Candles from the first store whose breaker lets the read through and that answers, else the in-process store. */
  candlesOf(q: Range & { timeframe: string }): Promise<Sourced<Candle[]>> {
    const fromStores = STORED_CANDLE_TIMEFRAMES.includes(q.timeframe);
    return this.read(fromStores, (b) => b.readCandles(q).then((l) => newest(l, q.limit)), () => this.memory.candles(q));
  }

  profilesOf(q: Range & { timeframe: string }): Promise<Sourced<VolumeProfile[]>> {
    return this.read(true, (b) => b.readProfiles(q).then((l) => newest(l, q.limit)), () => this.memory.profiles(q));
  }

  /**
   * Raw trades, paginated. Store cursors are `ts * 1000 + n` (n: trades at
   * that millisecond already returned); the in-process store's are sequence
   * numbers, so a cursor belongs to the source that issued it (x-data-source).
   */
  tradesOf(q: Range & { cursor: number }): Promise<Sourced<TradePage>> {
    return this.read(true, (b) => storePage(b, q), () => this.memory.trades(q));
  }

  private async read<T>(useStores: boolean, fromStore: (b: Backend) => Promise<T>, fromMemory: () => Promise<T>): Promise<Sourced<T>> {
    if (useStores) {
      for (const b of this.backends) {
        if (!b.breaker.allows) continue;
        try {
          return { value: await b.breaker.fire(() => fromStore(b)), source: b.source };
        } catch {
          // next store
        }
      }
    }
    return { value: await fromMemory(), source: 'memory' };
  }

  /** Flushes the sinks (bounded wait when a store is down) and closes the stores. */
  async close(flushMs = 3_000): Promise<void> {
    await Promise.all(this.backends.map((b) => closeBackend(b, flushMs)));
  }
}

async function closeBackend(b: Backend, flushMs = 0): Promise<void> {
  const sinks = [b.sinks.trades, b.sinks.candles, b.sinks.profiles, b.sinks.ticks] as Sink<unknown>[];
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.all(sinks.map((s) => s.close().catch(() => undefined))), new Promise<void>((r) => (timer = setTimeout(r, flushMs)))]);
  if (timer !== undefined) clearTimeout(timer);
  await b.close().catch(() => undefined);
}

function newest<T>(list: T[], limit: number): T[] {
  return list.length > limit ? list.slice(list.length - limit) : list;
}

async function storePage(b: Backend, q: Range & { cursor: number }): Promise<TradePage> {
  const cursorTs = Math.floor(q.cursor / 1000);
  const from = Math.max(q.from, cursorTs);
  const skip = cursorTs >= q.from && q.cursor > 0 ? q.cursor % 1000 : 0;
  const rows = await b.readTrades({ symbol: q.symbol, from, to: q.to, limit: skip + q.limit + 1 });
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
