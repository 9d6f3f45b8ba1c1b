import { join } from 'node:path';
import type { Job, Quote, Trade } from '@tickflow/core';
import { normalizeQuote, pipeline } from '@tickflow/core';
import { tickTraced } from '@tickflow/core/tracing';
import type { CheckpointStore, KafkaConsumer } from '@tickflow/core/kafka';
import type { IngestEvents } from './ingestEvents.js';
import type { MarketFeed } from './marketFeed.js';
import { KAFKA_IDLE_TIMEOUT, KAFKA_TIMING, WINDOW_GRACE, feedJobs, feedStats } from './marketFeed.js';
import type { StoreOutputs } from './storeBackends.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';

/** Options of the Kafka ingest. */
export interface KafkaFeedOptions {
  /** Where trades, window results and quotes go (the serving side, see ingestEvents.ts). */
  readonly events: IngestEvents;
  /** The store sinks (full mode); a returned promise pauses the partitions until they drain. */
  readonly outputs?: StoreOutputs | undefined;
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly tradesTopic: string;
  readonly quotesTopic: string;
  /** Makes everything handed to the store sinks durable (awaited before each offset commit). */
  readonly durable: () => Promise<unknown>;
  /** Where the window state is checkpointed with the offsets: PostgreSQL when configured, else files under `dataDir`. */
  readonly checkpoints: CheckpointStore | undefined;
  readonly dataDir: string;
  readonly log: (message: string) => void;
}

/**
 * Full-mode ingest from Kafka: the trades topic drives the same jobs as the
 * synthetic feed through `kafkaConsumer` (offsets committed only once the
 * windows of the events before them closed and the store sinks made their
 * results durable; a sink that pushes back pauses the partitions), and the
 * quotes topic feeds the WebSocket `quotes` channel. Processes in one
 * consumer group split the partitions; their WebSocket clients still see
 * every symbol through the Redis bridge.
 */
export async function startKafkaFeed(o: KafkaFeedOptions): Promise<MarketFeed> {
  const { kafkaConsumer, fileCheckpoints } = await import('@tickflow/core/kafka');
  const checkpoints = o.checkpoints ?? fileCheckpoints(join(o.dataDir, 'checkpoints'));
  let windows: Job<Trade, unknown>[] = [];
  const trades: KafkaConsumer<Trade> = kafkaConsumer<Trade>({
    brokers: o.brokers,
    topic: o.tradesTopic,
    groupId: o.groupId,
    clientId: 'tickflow-serve',
    windows: { size: [...CANDLE_TIMEFRAMES], grace: WINDOW_GRACE },
    idleTimeout: KAFKA_IDLE_TIMEOUT,
    checkpoints,
    deadLetterTopic: `${o.tradesTopic}-dead-letter`,
    onWarning: o.events.warn,
  });
  const quotes: KafkaConsumer<Quote> = kafkaConsumer<Quote>({
    brokers: o.brokers,
    topic: o.quotesTopic,
    groupId: `${o.groupId}-quotes`,
    clientId: 'tickflow-serve',
    windows: { size: '1s' },
    idleTimeout: KAFKA_IDLE_TIMEOUT,
    parse: normalizeQuote,
    onWarning: o.events.warn,
  });
  const ticker = setInterval(() => {
    tickTraced(windows);
  }, 100);
  const ac = new AbortController();
  let stopped: string | undefined;
  const failed = (what: string) => (e: unknown) => {
    if (ac.signal.aborted) return;
    stopped ??= `the kafka ${what} consumer stopped: ${e instanceof Error ? e.message : String(e)}`;
    o.events.warn(`${stopped}; /healthz answers 503 from now on, so a supervisor restarts this process (it resumes from the commits and checkpoints)`);
  };
  const runningTrades = trades
    .run({
      jobs: () => {
        const jobs = feedJobs(o.events, o.outputs, KAFKA_TIMING);
        windows = jobs.windows;
        const raw = pipeline<Trade>({ name: 'ingest', ...KAFKA_TIMING }).deadLetters(jobs.dead).to(jobs.raw);
        o.log(`kafka: partitions of ${o.tradesTopic} assigned; windows rebuilt from the committed offsets`);
        return [raw, ...jobs.windows];
      },
      durable: o.durable,
      signal: ac.signal,
    })
    .catch(failed('trades'));
  const runningQuotes = quotes
    .run({
      jobs: () => [
        pipeline<Quote>({ name: 'quotes', ...KAFKA_TIMING }).to({
          write(batch: readonly Quote[]) {
            o.events.quotes(batch);
            return o.outputs?.quotes(batch);
          },
        }),
      ],
      signal: ac.signal,
    })
    .catch(failed('quotes'));
  o.log(`kafka: consuming ${o.tradesTopic} and ${o.quotesTopic} from ${o.brokers.join(',')} as group ${o.groupId}; window state checkpointed in ${checkpoints.describe}`);
  return {
    stats: () => (stopped === undefined ? feedStats(trades.stats, windows) : { ...feedStats(trades.stats, windows), stopped }),
    kafka: () => trades.stats,
    quotesLag: () => quotes.stats.lag,
    async stop() {
      ac.abort();
      await Promise.all([runningTrades, runningQuotes]);
      clearInterval(ticker);
      for (const j of windows) await j.flush().catch(() => undefined);
    },
  };
}
