import type { Candle, DeadLetter, Job, LateEvent, Output, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { pipeline, quoteOfTrade, syntheticTrades } from '@tickflow/core';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import type { WsServer } from '@tickflow/ws-server';
import { aggregationOperators } from '../aggregation.js';
import type { InMemoryMarketStore } from './marketStore.js';
import type { StoreOutputs } from './storeBackends.js';
import type { ServerMetrics } from './serverMetrics.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';

/** Where the feed's trades and window results go. */
export interface FeedTargets {
  readonly store: InMemoryMarketStore;
  readonly ws: WsServer;
  readonly metrics: ServerMetrics;
  /** Called with every batch of trades after it is stored (paper-order fills). */
  readonly onTrades: (batch: readonly Trade[]) => void;
  /** Called with every stored candle update. */
  readonly onCandles?: (batch: readonly Candle[]) => void;
  readonly warn: (message: string) => void;
  /** Full mode: every window update and raw trade batch also goes here (the store sinks); a returned promise is backpressure. */
  readonly outputs?: StoreOutputs | undefined;
}

/** Options of the embedded (synthetic) feed. */
export interface MarketFeedOptions extends FeedTargets {
  readonly symbols: number;
  readonly rate: number;
  readonly seed: number;
}

/** A running feed (synthetic or Kafka). */
export interface MarketFeed {
  readonly stats: () => { events: number; emitted: number; late: number; deadLetters: number };
  /** The Kafka consumer's counters (full mode only): lag, late events with partition and offset, checkpoints, idle partitions. */
  readonly kafka?: () => KafkaConsumerStats;
  /** Stops intake, then flushes the window jobs (their pending updates are delivered). */
  stop(): Promise<void>;
}

/** Event-time settings of the live jobs: the synthetic feed is on the wall clock, so its watermark follows it. */
export const LIVE_TIMING = { outOfOrderness: '1s', wallClockLag: '2s', idleTimeout: '5s' } as const;
/**
 * Kafka: event time only (replays after a restart or rebalance must not count
 * as late). Idleness is the consumer's (`KAFKA_IDLE_TIMEOUT`): a partition
 * stops holding the watermark only when it is read to its end and quiet.
 */
export const KAFKA_TIMING = { outOfOrderness: '1s' } as const;
/** A Kafka partition read to its end and quiet this long stops holding the watermark. */
export const KAFKA_IDLE_TIMEOUT = '5s';
const EMIT = { mode: 'update', throttle: '250ms' } as const;
/** Timeframes of the stored and streamed volume profiles and tick counts. */
export const PROFILE_TIMEFRAMES = ['1m', '5m'] as const;
export const TICK_TIMEFRAMES = ['1m'] as const;

type Timing = typeof LIVE_TIMING | typeof KAFKA_TIMING;

/** The jobs of one ingest: a pass-through job for raw trades and the three window jobs. */
export interface FeedJobs {
  /** Raw trades: store, WebSocket trades/quotes, sinks, paper fills. */
  readonly raw: Output<Trade>;
  readonly windows: Job<Trade, unknown>[];
  readonly late: Output<LateEvent>;
  readonly dead: Output<DeadLetter>;
}

/**
 * The live jobs, built from the same operators as `tickflow aggregate`:
 * candles (1m, 5m and, rolled up by the operator, 15m, 1h, 1d), volume
 * profiles (1m, 5m) and tick counts (1m). Their results go to the in-process
 * store, the WebSocket server and (full mode) the store sinks; a sink that
 * pushes back makes the output's write return a promise (backpressure).
 */
export function feedJobs(o: FeedTargets, timing: Timing): FeedJobs {
  const late: Output<LateEvent> = { write: (b) => void o.metrics.late.inc(b.length) };
  const dead: Output<DeadLetter> = {
    write: (b) => {
      o.metrics.deadLetters.inc(b.length);
      for (const d of b) o.warn(`dead letter from ${d.origin}: ${d.reason}`);
    },
  };
  const c = aggregationOperators({ timeframes: [...CANDLE_TIMEFRAMES], kind: 'candles', grace: '5s', emit: EMIT });
  const candleJob = pipeline<Trade>({ name: 'candles', ...timing }).pipe(c[0], c[1]).late(late).deadLetters(dead).to({
    write(batch: readonly Candle[]) {
      o.metrics.windows.inc({ kind: 'candles' }, batch.length);
      const fresh: Candle[] = [];
      for (const x of batch) if (o.store.upsertCandle(x)) fresh.push(x);
      if (fresh.length > 0) {
        o.ws.publish('candles', fresh);
        o.onCandles?.(fresh);
      }
      return o.outputs?.candles(batch);
    },
  });
  const p = aggregationOperators({ timeframes: [...PROFILE_TIMEFRAMES], kind: 'profile', grace: '5s', emit: EMIT });
  const profileJob = pipeline<Trade>({ name: 'profiles', ...timing }).pipe(p[0], p[1]).late(late).deadLetters(dead).to({
    write(batch: readonly VolumeProfile[]) {
      o.metrics.windows.inc({ kind: 'profile' }, batch.length);
      const fresh = batch.filter((x) => o.store.upsertProfile(x));
      if (fresh.length > 0) o.ws.publish('profile', fresh);
      return o.outputs?.profiles(batch);
    },
  });
  const t = aggregationOperators({ timeframes: [...TICK_TIMEFRAMES], kind: 'ticks', grace: '5s', emit: EMIT });
  const tickJob = pipeline<Trade>({ name: 'ticks', ...timing }).pipe(t[0], t[1]).late(late).deadLetters(dead).to({
    write(batch: readonly TickCount[]) {
      o.metrics.windows.inc({ kind: 'ticks' }, batch.length);
      for (const x of batch) o.store.upsertTicks(x);
      return o.outputs?.ticks(batch);
    },
  });
  const raw: Output<Trade> = {
    write(batch: readonly Trade[]) {
      o.metrics.ingested(batch.length, batch.length > 0 ? batch[batch.length - 1]!.ts : undefined);
      o.store.addTrades(batch);
      o.ws.publish('trades', batch);
      const quotes: Quote[] = [];
      for (const tr of batch) {
        const q = quoteOfTrade(tr);
        if (q !== undefined) quotes.push(q);
      }
      if (quotes.length > 0) o.ws.publish('quotes', quotes);
      o.onTrades(batch);
      // Quotes derived from trades lack sizes: only the quotes topic's go to the stores.
      return o.outputs?.trades(batch);
    },
  };
  return { raw, windows: [candleJob, profileJob, tickJob], late, dead };
}

/** Sums the counters of a feed's jobs. */
export function feedStats(ingest: { events: number; deadLetters: number }, windows: readonly Job<Trade, unknown>[]): { events: number; emitted: number; late: number; deadLetters: number } {
  let emitted = 0;
  let late = 0;
  let dead = ingest.deadLetters;
  for (const j of windows) {
    emitted += j.stats.emitted;
    late += j.stats.late;
    dead += j.stats.deadLetters;
  }
  return { events: ingest.events, emitted, late, deadLetters: dead };
}

/**
 * Embedded ingest: the synthetic trade feed (trades carry bid/ask, so quotes
 * come with them) on the wall clock → the raw-trade outputs and the window
 * jobs of `feedJobs`.
 */
export function startMarketFeed(o: MarketFeedOptions): MarketFeed {
  const jobs = feedJobs(o, LIVE_TIMING);
  const windowJobs = jobs.windows;
  const ticker = setInterval(() => {
    for (const j of windowJobs) j.tick();
  }, 100);

  const ac = new AbortController();
  const ingest = pipeline(syntheticTrades({ symbols: o.symbols, rate: o.rate, seed: o.seed, clock: 'wall' }), { name: 'ingest', ...LIVE_TIMING })
    .deadLetters(jobs.dead)
    .to({
      write(batch: readonly Trade[]) {
        const waitRaw = jobs.raw.write(batch);
        for (const j of windowJobs) j.pushBatch(batch);
        return waitRaw;
      },
    });
  const running = ingest.run({ signal: ac.signal });
  running.catch((e: unknown) => o.warn(`ingest stopped: ${e instanceof Error ? e.message : String(e)}`));

  return {
    stats: () => feedStats(ingest.stats, windowJobs),
    async stop() {
      ac.abort();
      await running.catch(() => undefined);
      clearInterval(ticker);
      for (const j of windowJobs) await j.flush().catch(() => undefined);
    },
  };
}
