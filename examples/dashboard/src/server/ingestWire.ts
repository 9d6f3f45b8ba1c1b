import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import { Packr } from 'msgpackr';
import type { FeedStats } from './marketFeed.js';
import type { RedisTarget } from './serverConfig.js';
import type { WriterStats } from './storeBackends.js';

/** What the ingest worker runs: the synthetic feed or the Kafka consumer, and the stores it writes to. */
export interface IngestWorkerConfig {
  readonly feed: { readonly kind: 'synthetic'; readonly symbols: number; readonly rate: number; readonly seed: number; readonly startPrices?: Readonly<Record<string, number>> | undefined } | { readonly kind: 'kafka'; readonly brokers: readonly string[]; readonly groupId: string; readonly tradesTopic: string; readonly quotesTopic: string; readonly dataDir: string };
  /** Full mode: the stores the worker's sinks write to (undefined: embedded mode, nothing is written). */
  readonly stores?: {
    readonly clickhouseUrls?: readonly string[] | undefined;
    readonly databaseUrl?: string | undefined;
    readonly redis?: RedisTarget | undefined;
    readonly clickhouseMaxConnections: number;
    readonly databasePoolMax: number;
    readonly maxBufferedRows: number;
    readonly whenFull: 'drop' | 'wait';
  };
}

/**
 * One batch of ingest output crossing from the worker to the main thread, in
 * the order the kinds are applied: trades, candles, profiles, tick counts,
 * quotes, then the late count and dead-letter messages.
 */
export interface IngestBatch {
  tr?: Trade[];
  c?: Candle[];
  p?: VolumeProfile[];
  k?: TickCount[];
  q?: Quote[];
  late?: number;
  dead?: string[];
}

/** Messages of the ingest worker to the main thread. */
export type FromIngestWorker =
  | { readonly t: 'ready'; readonly describe: string }
  | { readonly t: 'failed'; readonly message: string; readonly code?: string }
  /** A packed IngestBatch (transferred, not copied); the main thread answers with an ack of its seq. */
  | { readonly t: 'out'; readonly seq: number; readonly data: Uint8Array }
  | { readonly t: 'stats'; readonly feed: FeedStats; readonly kafka?: KafkaConsumerStats; readonly quotesLag?: number; readonly writer?: WriterStats; readonly written: readonly (string | number)[] }
  | { readonly t: 'log'; readonly level: 'info' | 'warn'; readonly message: string }
  | { readonly t: 'stopped' };

/** Messages of the main thread to the ingest worker. */
export type ToIngestWorker = { readonly t: 'ack'; readonly seq: number } | { readonly t: 'stop' };

// Records (msgpackr's structures) per message: both sides are the same build, each message is self-contained.
const packr = new Packr({ useRecords: true });

/** Packs a batch into a buffer of its own (transferable: msgpackr's returned buffer is a view of its reused one, so it is copied once). */
export function packIngestBatch(b: IngestBatch): Uint8Array {
  const view = packr.pack(b);
  const own = new Uint8Array(view.length);
  own.set(view);
  return own;
}

/** Unpacks what packIngestBatch packed. */
export function unpackIngestBatch(data: Uint8Array): IngestBatch {
  return packr.unpack(data) as IngestBatch;
}
