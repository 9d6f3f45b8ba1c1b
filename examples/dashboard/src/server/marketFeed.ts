import type { Candle, DeadLetter, Job, LateEvent, Output, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { pipeline } from '@tickflow/core';
import { syntheticTrades } from '@tickflow/core/synthetic';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import { aggregationOperators } from '../aggregation.js';
import type { IngestEvents } from './ingestEvents.js';
import type { StoreOutputs } from './storeBackends.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';

/** Options of the embedded (synthetic) feed. */
export interface MarketFeedOptions {
  /** Where the feed's trades and window results go (the main thread's store, WebSocket and metrics, or the worker's channel to them). */
  readonly events: IngestEvents;
  /** Full mode: every window update and raw trade batch also goes to the store sinks; a returned promise is backpressure. */
  readonly outputs?: StoreOutputs | undefined;
  readonly symbols: number;
  readonly rate: number;
  readonly seed: number;
  /** Prices to start from (the demo's saved prices, see demoPrices.ts); the seeded ones otherwise. */
  readonly startPrices?: Readonly<Record<string, number>> | undefined;
}

/** Counters of a feed: trades taken in, window results emitted, late events, dead letters. */
export interface FeedStats {
  events: number;
  emitted: number;
  late: number;
  deadLetters: number;
  /** Set when intake stopped for good (e.g. the Kafka consumer gave up): why. /healthz and /readyz answer 503 then. */
  stopped?: string;
}

/** A running feed (synthetic or Kafka, in this thread or in the ingest worker). */
export interface MarketFeed {
  readonly stats: () => FeedStats;
  /** The Kafka consumer's counters (full mode only): lag, late events with partition and offset, checkpoints, idle partitions. */
  readonly kafka?: () => KafkaConsumerStats;
  /** Kafka: messages behind the high watermark of the quotes topic. */
  readonly quotesLag?: () => number;
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
/** How long after its end a window still takes late trades (every live and Kafka window job). */
export const WINDOW_GRACE = '5s';
export const WINDOW_GRACE_MS = 5_000;
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
export function feedJobs(events: IngestEvents, outputs: StoreOutputs | undefined, timing: Timing): FeedJobs {
  const late: Output<LateEvent> = { write: (b) => events.late(b.length) };
  const dead: Output<DeadLetter> = { write: (b) => events.dead(b.map((d) => `dead letter from ${d.origin}: ${d.reason}`)) };
  const c = aggregationOperators({ timeframes: [...CANDLE_TIMEFRAMES], kind: 'candles', grace: WINDOW_GRACE, emit: EMIT });
  const candleJob = pipeline<Trade>({ name: 'candles', ...timing }).pipe(c[0], c[1]).late(late).deadLetters(dead).to({
    write(batch: readonly Candle[]) {
      events.candles(batch);
      return outputs?.candles(batch);
    },
  });
  const p = aggregationOperators({ timeframes: [...PROFILE_TIMEFRAMES], kind: 'profile', grace: WINDOW_GRACE, emit: EMIT });
  const profileJob = pipeline<Trade>({ name: 'profiles', ...timing }).pipe(p[0], p[1]).late(late).deadLetters(dead).to({
    write(batch: readonly VolumeProfile[]) {
      events.profiles(batch);
      return outputs?.profiles(batch);
    },
  });
  const t = aggregationOperators({ timeframes: [...TICK_TIMEFRAMES], kind: 'ticks', grace: WINDOW_GRACE, emit: EMIT });
  const tickJob = pipeline<Trade>({ name: 'ticks', ...timing }).pipe(t[0], t[1]).late(late).deadLetters(dead).to({
    write(batch: readonly TickCount[]) {
      events.ticks(batch);
      return outputs?.ticks(batch);
    },
  });
  const raw: Output<Trade> = {
    write(batch: readonly Trade[]) {
      const shown = events.trades(batch);
      // Quotes derived from trades lack sizes: only the quotes topic's go to the stores.
      const stored = outputs?.trades(batch);
      return shown === undefined ? stored : stored === undefined ? shown : Promise.all([shown, stored]).then(() => undefined);
    },
  };
  return { raw, windows: [candleJob, profileJob, tickJob], late, dead };
}

/** Sums the counters of a feed's jobs. */
export function feedStats(ingest: { events: number; deadLetters: number }, windows: readonly Job<Trade, unknown>[]): FeedStats {
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
  const jobs = feedJobs(o.events, o.outputs, LIVE_TIMING);
  const windowJobs = jobs.windows;
  const ticker = setInterval(() => {
    for (const j of windowJobs) j.tick();
  }, 100);

  const ac = new AbortController();
  const ingest = pipeline(syntheticTrades({ symbols: o.symbols, rate: o.rate, seed: o.seed, clock: 'wall', startPrices: o.startPrices, volumeShape: 'intraday' }), { name: 'ingest', ...LIVE_TIMING })
    .deadLetters(jobs.dead)
    .to({
      write(batch: readonly Trade[]) {
        const waitRaw = jobs.raw.write(batch);
        for (const j of windowJobs) j.pushBatch(batch);
        return waitRaw;
      },
    });
  const running = ingest.run({ signal: ac.signal });
  running.catch((e: unknown) => o.events.warn(`ingest stopped: ${e instanceof Error ? e.message : String(e)}`));

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
