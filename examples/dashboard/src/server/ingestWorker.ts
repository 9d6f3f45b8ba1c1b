// The ingest worker thread of `tickflow serve` (started by ingestThread.ts):
// the synthetic feed or the Kafka consumer, the window jobs and the store
// sinks run here; what the serving side shows (trades, window results,
// quotes, counts) crosses to the main thread in packed batches, at most one
// per turn of this thread's event loop. Kafka's exactly-once rules stay
// whole on this side: offsets are committed after this thread's sinks made
// the results durable, and window checkpoints are taken here.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { IngestEvents } from './ingestEvents.js';
import type { FromIngestWorker, IngestBatch, IngestWorkerConfig, ToIngestWorker } from './ingestWire.js';
import { packIngestBatch, packTrades } from './ingestWire.js';
import type { MarketFeed } from './marketFeed.js';
import { startMarketFeed } from './marketFeed.js';
import { InMemoryMarketStore } from './marketStore.js';
import { StoreBackends } from './storeBackends.js';

/** Batches the main thread has not acknowledged yet before ingest waits (backpressure, never a drop). */
const MAX_UNACKED = 16;

if (parentPort === null) throw new Error('ingestWorker.ts runs as a worker thread (see ingestThread.ts)');
const port: MessagePort = parentPort;
const config = workerData as IngestWorkerConfig;
const post = (m: FromIngestWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
const log = (message: string): void => post({ t: 'log', level: 'info', message });
const warn = (message: string): void => post({ t: 'log', level: 'warn', message });

/** IngestEvents that collect into one IngestBatch per event-loop turn and post it. */
class BatchedEvents implements IngestEvents {
  private batch: IngestBatch = {};
  private scheduled = false;
  private seq = 0;
  private acked = 0;
  private waiting: (() => void)[] = [];

  trades(b: readonly Trade[]): void | Promise<void> {
    if (b.length > 0) this.add('tr', b);
    if (this.seq - this.acked < MAX_UNACKED) return undefined;
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  candles(b: readonly Candle[]): void {
    if (b.length > 0) this.add('c', b);
  }
  profiles(b: readonly VolumeProfile[]): void {
    if (b.length > 0) this.add('p', b);
  }
  ticks(b: readonly TickCount[]): void {
    if (b.length > 0) this.add('k', b);
  }
  quotes(b: readonly Quote[]): void {
    if (b.length > 0) this.add('q', b);
  }
  late(count: number): void {
    this.batch.late = (this.batch.late ?? 0) + count;
    this.schedule();
  }
  dead(messages: readonly string[]): void {
    (this.batch.dead ??= []).push(...messages);
    this.schedule();
  }
  warn(message: string): void {
    warn(message);
  }

  /** The main thread applied batch `seq`. */
  ack(seq: number): void {
    if (seq > this.acked) this.acked = seq;
    if (this.seq - this.acked <= MAX_UNACKED / 2 && this.waiting.length > 0) {
      const w = this.waiting;
      this.waiting = [];
      for (const resolve of w) resolve();
    }
  }

  /** Posts what is collected now (at shutdown). */
  flushNow(): void {
    this.scheduled = false;
    const b = this.batch;
    // A kind is present only once something of it was added (add, late, dead).
    if (Object.keys(b).length === 0) return;
    this.batch = {};
    const { tr, ...rest } = b;
    const trades = tr === undefined ? undefined : packTrades(tr);
    const data = Object.keys(rest).length === 0 ? undefined : packIngestBatch(rest);
    const transfer: ArrayBuffer[] = [];
    if (trades !== undefined) transfer.push(trades.buf);
    if (data !== undefined) transfer.push(data.buffer as ArrayBuffer);
    post({ t: 'out', seq: ++this.seq, data, trades }, transfer);
  }

  private add<K extends 'tr' | 'c' | 'p' | 'k' | 'q'>(kind: K, rows: readonly NonNullable<IngestBatch[K]>[number][]): void {
    const list = (this.batch[kind] ??= []) as unknown[];
    for (let i = 0; i < rows.length; i++) list.push(rows[i]);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flushNow());
  }
}

const events = new BatchedEvents();
const written: (string | number)[] = [];
let stores: StoreBackends | undefined;
let feed: MarketFeed | undefined;
let stopping: Promise<void> | undefined;
let tracing: { shutdown(): Promise<void> } | undefined;

async function start(): Promise<void> {
  // Tracing: this thread's own tracer provider, from the environment the worker inherits (tracing.ts; nothing loaded without it).
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { otlpEndpointOf, startTracing } = await import('./tracing.js');
    tracing = await startTracing({ endpoint: otlpEndpointOf(process.env)!, serviceName: 'tickflow-serve' });
  }
  const s = config.stores;
  if (s !== undefined) {
    // The worker's StoreBackends only writes (reads are the main thread's); its in-process store is never read.
    stores = await StoreBackends.connect(
      {
        ...s,
        log,
        warn,
        onWritten: (store, table, ms) => {
          if (written.length < 30_000) written.push(store, table, ms);
        },
      },
      new InMemoryMarketStore({ bars: 10, trades: 10 }),
    );
  }
  const f = config.feed;
  if (f.kind === 'synthetic') {
    feed = startMarketFeed({ events, outputs: stores, symbols: f.symbols, rate: f.rate, seed: f.seed, startPrices: f.startPrices });
  } else {
    const { startKafkaFeed } = await import('./kafkaFeed.js');
    const backends = stores;
    feed = await startKafkaFeed({
      events,
      outputs: backends,
      brokers: f.brokers,
      groupId: f.groupId,
      tradesTopic: f.tradesTopic,
      quotesTopic: f.quotesTopic,
      durable: () => backends?.flush() ?? Promise.resolve(),
      checkpoints: backends?.checkpoints,
      dataDir: f.dataDir,
      log,
    });
  }
}

function sendStats(): void {
  if (feed === undefined) return;
  post({ t: 'stats', feed: feed.stats(), kafka: feed.kafka?.(), quotesLag: feed.quotesLag?.(), writer: stores?.writerStats(), written: written.splice(0) });
}

async function stop(): Promise<void> {
  clearInterval(statsTimer);
  await feed?.stop();
  events.flushNow();
  await stores?.close();
  await tracing?.shutdown();
  sendStats();
  post({ t: 'stopped' });
  port.close();
  // Ends this thread even if a client library left a handle open (a normal exit also writes --cpu-prof profiles).
  setTimeout(() => process.exit(0), 200).unref();
}

const statsTimer = setInterval(sendStats, 250);
port.on('message', (m: ToIngestWorker) => {
  if (m.t === 'ack') events.ack(m.seq);
  else if (m.t === 'stop') stopping ??= stop();
});

start().then(
  () => {
    // Stats first (the consumer's own, zero before it reads), so the main thread has them once started.
    sendStats();
    post({ t: 'ready', describe: config.feed.kind === 'kafka' ? `Kafka ${config.feed.tradesTopic} (group ${config.feed.groupId})` : `synthetic feed, ${config.feed.rate} trades/s` });
  },
  (e: unknown) => {
    clearInterval(statsTimer);
    const code = (e as { code?: unknown }).code;
    post({ t: 'failed', message: e instanceof Error ? e.message : String(e), code: typeof code === 'string' ? code : undefined });
    void stores?.close(0).finally(() => port.close());
  },
);
