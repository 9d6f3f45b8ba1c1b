import type { Candle } from '@tickflow/core';
import type { WsServer } from '@tickflow/ws-server';
import type { Logger } from 'pino';
import { backfillDemoHistory } from './demoHistory.js';
import { loadDemoPrices, startDemoPriceSaver } from './demoPrices.js';
import type { DemoPriceSaver } from './demoPrices.js';
import { applyIngest } from './ingestEvents.js';
import type { IngestEvents } from './ingestEvents.js';
import { ingestWorkerScript, runningFromBuild, startIngestWorker } from './ingestThread.js';
import { startKafkaFeed } from './kafkaFeed.js';
import type { LiveCorrelation } from './liveCorrelation.js';
import { startMarketFeed } from './marketFeed.js';
import type { MarketFeed } from './marketFeed.js';
import type { InMemoryMarketStore } from './marketStore.js';
import type { PaperBroker } from './paperBroker.js';
import type { StoreSettings } from './serverBackends.js';
import type { ServerConfig } from './serverConfig.js';
import { seconds } from './serverConfig.js';
import type { ServerMetrics } from './serverMetrics.js';
import type { StoreBackends } from './storeBackends.js';

/** Whether ingest, windows and store writes run in a worker thread: HTTP and WebSocket fan-out keep this one (see ingestThread.ts). */
export function ingestInWorker(config: ServerConfig): boolean {
  return config.ingestThread === 'worker' || (config.ingestThread === 'auto' && runningFromBuild() && ingestWorkerScript() !== undefined);
}

/** The embedded demo's prices: where the feed starts, and the saver that keeps them. */
export interface DemoPrices {
  /** The prices saved by the last run; undefined: the seeded ones. */
  readonly startPrices: Record<string, number> | undefined;
  readonly priceSaver: DemoPriceSaver | undefined;
}

/** Embedded demo: prices continue across restarts (saved in the data dir every 5 s and at close). With Kafka: none. */
export async function startDemoPrices(config: ServerConfig, log: Logger): Promise<DemoPrices> {
  const synthetic = config.kafkaBrokers === undefined;
  const startPrices = synthetic
    ? await loadDemoPrices(config.dataDir).catch((e: unknown) => {
        log.warn(`${e instanceof Error ? e.message : String(e)}; starting from the seeded prices`);
        return undefined;
      })
    : undefined;
  const priceSaver = synthetic ? startDemoPriceSaver({ dataDir: config.dataDir, initial: startPrices, onError: (e) => log.warn(e.message) }) : undefined;
  return { startPrices, priceSaver };
}

/** Options of servingEvents. */
export interface ServingOptions {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly store: InMemoryMarketStore;
  readonly ws: WsServer;
  readonly metrics: ServerMetrics;
  readonly broker: PaperBroker;
  readonly priceSaver: DemoPriceSaver | undefined;
  readonly correlation: LiveCorrelation;
}

/** Where ingest lands on this thread (ingestEvents.ts), plus paper fills, saved demo prices, live correlation and `--print`'s final candles. */
export function servingEvents({ config, log, store, ws, metrics, broker, priceSaver, correlation }: ServingOptions): IngestEvents {
  return applyIngest({
    store,
    ws,
    metrics,
    onTrades: (b) => {
      broker.onTrades(b);
      priceSaver?.record(b);
      correlation.push(b);
    },
    onCandles: (b: readonly Candle[]) => {
      if (config.print) for (const c of b) if (c.final && c.timeframe === '1m') log.info({ candle: c }, 'final candle');
    },
    warn: (m) => log.warn(m),
  });
}

/**
 * Embedded demo: the charts start with history (the past of the same
 * synthetic market, ending at its live prices). Nothing with Kafka, a store
 * or `--history 0`.
 */
export async function backfillDemo(o: { readonly config: ServerConfig; readonly log: Logger; readonly store: InMemoryMarketStore; readonly correlation: LiveCorrelation; readonly startPrices: Record<string, number> | undefined }): Promise<void> {
  const { config, log, store } = o;
  if (config.kafkaBrokers === undefined && config.clickhouseUrl === undefined && config.databaseUrl === undefined && config.history !== '0') {
    const spanMs = seconds(config.history) * 1000;
    const h = await backfillDemoHistory(store, { symbols: config.symbols, seed: config.seed, spanMs, rate: Math.min(config.rate, 300_000 / (spanMs / 1000)), startPrices: o.startPrices, liveRate: config.rate, volumeShape: 'intraday' });
    log.info({ trades: h.trades, candles: h.candles, ms: h.ms }, `demo history: ${config.history} backfilled (${h.trades} trades, ${h.candles} candles, ${h.ms} ms)`);
    await o.correlation.seedFromCandles(store);
  }
}

/** Options of startIngest. */
export interface IngestOptions {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly inWorker: boolean;
  readonly events: IngestEvents;
  readonly stores: StoreBackends | undefined;
  readonly storeSettings: StoreSettings;
  readonly metrics: ServerMetrics;
  readonly startPrices: Record<string, number> | undefined;
}

/** Starts the feed (synthetic, or Kafka with `kafkaBrokers`) through the window jobs, in the ingest worker or on this thread. */
export async function startIngest({ config, log, inWorker, events, stores, storeSettings, metrics, startPrices }: IngestOptions): Promise<MarketFeed> {
  if (inWorker) {
    return await startIngestWorker({
      config: {
        feed:
          config.kafkaBrokers === undefined
            ? { kind: 'synthetic', symbols: config.symbols, rate: config.rate, seed: config.seed, startPrices }
            : { kind: 'kafka', brokers: config.kafkaBrokers, groupId: config.kafkaGroup, tradesTopic: config.kafkaTradesTopic, quotesTopic: config.kafkaQuotesTopic, dataDir: config.dataDir },
        stores: stores === undefined ? undefined : storeSettings,
      },
      events,
      log: (m) => log.info(m),
      showWriterStats: (s) => stores?.showWriterStats(s),
      onWritten: (s, t, ms) => metrics.sinkLatency.observe({ store: s, table: t }, ms / 1000),
    });
  }
  return config.kafkaBrokers === undefined
    ? startMarketFeed({ events, outputs: stores, symbols: config.symbols, rate: config.rate, seed: config.seed, startPrices })
    : await startKafkaFeed({
        events,
        outputs: stores,
        brokers: config.kafkaBrokers,
        groupId: config.kafkaGroup,
        tradesTopic: config.kafkaTradesTopic,
        quotesTopic: config.kafkaQuotesTopic,
        durable: () => stores?.flush() ?? Promise.resolve(),
        checkpoints: stores?.checkpoints,
        dataDir: config.dataDir,
        log: (m) => log.info(m),
      });
}

/** With Kafka, the consumer lag of both topics in the metrics every second; the timer (unref'd) or undefined. */
export function watchConsumerLag(feed: MarketFeed, metrics: ServerMetrics, config: ServerConfig): NodeJS.Timeout | undefined {
  const lagTimer =
    feed.kafka === undefined
      ? undefined
      : setInterval(() => {
          metrics.consumerLag.set({ topic: config.kafkaTradesTopic, partition: 'all' }, feed.kafka!().lag);
          metrics.consumerLag.set({ topic: config.kafkaQuotesTopic, partition: 'all' }, feed.quotesLag?.() ?? 0);
        }, 1_000);
  lagTimer?.unref();
  return lagTimer;
}
