import type { Candle, DeadLetter, Job, LateEvent, Trade } from '@tickflow/core';
import { formatDuration, keyBy, parseDuration, pipeline } from '@tickflow/core';
import type { Sink } from '@tickflow/sinks';
import type { CorrelationMatrixRow } from '@tickflow/sinks/timescale';
import type { CorrelationMatrix } from '@tickflow/windowing';
import { correlation } from '@tickflow/windowing';
import type { KAFKA_TIMING, LIVE_TIMING } from './marketFeed.js';
import type { InMemoryMarketStore } from './marketStore.js';

/** Settings of the server's correlation job. */
export interface LiveCorrelationOptions {
  /** Return interval, e.g. `'1m'`. */
  readonly interval: string;
  /** Returns per pair, e.g. 60. */
  readonly lookback: number;
  /** Event-time settings of the server's other live jobs (marketFeed.ts). */
  readonly timing: typeof LIVE_TIMING | typeof KAFKA_TIMING;
  /** Full mode: sinks of the stores' `correlation_matrix` tables. */
  readonly sinks?: readonly Sink<CorrelationMatrixRow>[];
  readonly warn: (message: string) => void;
}

/** Late trades past the grace and dead letters are counted here (the window jobs count their own). */
export interface LiveCorrelationStats {
  matrices: number;
  late: number;
  deadLetters: number;
}

/**
 * The reference server's cross-asset correlation: `correlation()` of
 * @tickflow/windowing over the trades the serving side receives (every
 * trade the feed or the Kafka consumer ingests crosses to the main thread,
 * see ingestEvents.ts), so it runs beside the WebSocket fan-out and not in
 * the ingest worker. Keeps the latest matrix for REST, hands each new one to
 * the listeners (the WebSocket channel) and, in full mode, to the stores'
 * `correlation_matrix` sinks.
 *
 * The operator's state spans every symbol: with several processes in one
 * Kafka consumer group each process correlates the symbols of its own
 * partitions only.
 */
export class LiveCorrelation {
  /** The newest matrix, undefined until the first interval after `minReturns` closes. */
  latest: CorrelationMatrix | undefined;
  readonly stats: LiveCorrelationStats = { matrices: 0, late: 0, deadLetters: 0 };
  readonly interval: string;
  readonly intervalMs: number;
  readonly lookback: number;
  private readonly job: Job<Trade, CorrelationMatrix>;
  private readonly listeners = new Set<(m: CorrelationMatrix) => void>();
  private readonly ticker: ReturnType<typeof setInterval>;
  private stopped: Promise<void> | undefined;

  constructor(private readonly o: LiveCorrelationOptions) {
    this.intervalMs = parseDuration(o.interval as never, 'correlation interval');
    // The operator's label ('60s' → '1m'): what the matrices carry and the stores are keyed by.
    this.interval = formatDuration(this.intervalMs);
    this.lookback = o.lookback;
    const late = { write: (b: readonly LateEvent[]) => void (this.stats.late += b.length) };
    const dead = {
      write: (b: readonly DeadLetter[]) => {
        this.stats.deadLetters += b.length;
        for (const d of b.slice(0, 3)) o.warn(`dead letter from ${d.origin}: ${d.reason}`);
      },
    };
    this.job = pipeline<Trade>({ name: 'correlation', ...o.timing })
      .pipe(keyBy('symbol'), correlation<Trade>({ interval: o.interval as never, lookback: o.lookback, grace: '5s' }))
      .late(late)
      .deadLetters(dead)
      .to({ write: (batch: readonly CorrelationMatrix[]) => this.deliver(batch) });
    // Wall-clock closing of intervals in live mode (as the window jobs of marketFeed.ts).
    this.ticker = setInterval(() => this.job.tick(), 250);
    this.ticker.unref();
  }

  /** Takes a batch of ingested trades (in arrival order). */
  push(batch: readonly Trade[]): void {
    if (this.stopped !== undefined || batch.length === 0) return;
    this.job.pushBatch(batch);
  }

  /**
   * Starts the lookback from stored history: the closes of the in-process
   * store's candles of the return interval (the close of a candle is the
   * price of its latest trade, exactly what the operator takes from an
   * interval), so the embedded demo shows a matrix at once instead of after
   * `minReturns` intervals. Only candles that ended before `now` are used.
   */
  async seedFromCandles(store: InMemoryMarketStore, now = Date.now()): Promise<number> {
    const size = this.intervalMs;
    const trades: Trade[] = [];
    for (const symbol of await store.symbols()) {
      const bars: Candle[] = await store.candles({ symbol, timeframe: this.interval, from: 0, to: Math.floor(now / size) * size, limit: this.lookback + 1 });
      for (const c of bars) if (c.end <= now) trades.push({ symbol, ts: c.end - 1, price: c.close, size: 1 });
    }
    trades.sort((a, b) => a.ts - b.ts);
    this.push(trades);
    return trades.length;
  }

  /** Calls `f` with every new matrix; returns the unsubscribe function. */
  onMatrix(f: (m: CorrelationMatrix) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Stops the ticker and the job (no flush: a half-filled interval is not a matrix anyone needs at shutdown), then closes the store sinks (bounded wait when a store is down). */
  stop(flushMs = 3_000): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.ticker);
      this.listeners.clear();
      const sinks = this.o.sinks ?? [];
      if (sinks.length === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(sinks.map((s) => s.close().catch(() => undefined))), new Promise<void>((r) => (timer = setTimeout(r, flushMs)))]);
      clearTimeout(timer);
    })();
    return this.stopped;
  }

  private deliver(batch: readonly CorrelationMatrix[]): void {
    if (batch.length === 0) return;
    this.stats.matrices += batch.length;
    this.latest = batch[batch.length - 1]!;
    for (const s of this.o.sinks ?? []) {
      // A full sink (store down) is not backpressure for the serving side: the rows wait in the sink's buffer or are counted as dropped there.
      s.enqueue(batch)?.catch(() => undefined);
    }
    for (const f of this.listeners) {
      try {
        f(this.latest);
      } catch (e) {
        this.o.warn(`correlation listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/** A matrix as the REST and WebSocket answers carry it: rows of values, null where undefined (JSON has no NaN). */
export interface CorrelationAnswer {
  readonly interval: string;
  readonly lookback: number;
  readonly start: number;
  readonly end: number;
  readonly symbols: string[];
  /** Returns of each symbol in the lookback. */
  readonly counts: number[];
  /** values[i][j]: Pearson's r of the log returns of symbols i and j, null where undefined. */
  readonly values: (number | null)[][];
  /** Asked-for symbols the matrix does not hold (no trade yet, or unknown). */
  readonly missing: string[];
}

/** The sub-matrix of `symbols` (all of the matrix's, in its order, when undefined). */
export function correlationAnswer(m: CorrelationMatrixRow, symbols: readonly string[] | undefined): CorrelationAnswer {
  const index = new Map(m.symbols.map((s, i) => [s, i] as const));
  const wanted = symbols ?? m.symbols;
  const kept = wanted.filter((s) => index.has(s));
  const n = m.symbols.length;
  const values = kept.map((a) => {
    const i = index.get(a)!;
    return kept.map((b) => {
      const x = m.values[i * n + index.get(b)!]!;
      return Number.isNaN(x) ? null : x;
    });
  });
  return { interval: m.interval, lookback: m.lookback, start: m.start, end: m.end, symbols: kept, counts: kept.map((s) => m.counts[index.get(s)!]!), values, missing: wanted.filter((s) => !index.has(s)) };
}
