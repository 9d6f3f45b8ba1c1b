import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import { SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN, sideCode } from '@tickflow/core/extend';
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
 * quotes, then the late count and dead-letter messages. The trades cross as
 * columns (PackedTrades), the rest packed with msgpackr.
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
  /** An IngestBatch: its trades as columns, the rest packed (both transferred, not copied); the main thread answers with an ack of its seq. */
  | { readonly t: 'out'; readonly seq: number; readonly data: Uint8Array | undefined; readonly trades: PackedTrades | undefined }
  | { readonly t: 'stats'; readonly feed: FeedStats; readonly kafka?: KafkaConsumerStats; readonly quotesLag?: number; readonly writer?: WriterStats; readonly written: readonly (string | number)[] }
  | { readonly t: 'log'; readonly level: 'info' | 'warn'; readonly message: string }
  | { readonly t: 'stopped' };

/** Messages of the main thread to the ingest worker. */
export type ToIngestWorker = { readonly t: 'ack'; readonly seq: number } | { readonly t: 'stop' };

// Records (msgpackr's structures) per message: both sides are the same build, each message is self-contained.
const packr = new Packr({ useRecords: true });

/** Packs a batch (without its trades: packTrades) into a buffer of its own (transferable: msgpackr's returned buffer is a view of its reused one, so it is copied once). */
export function packIngestBatch(b: Omit<IngestBatch, 'tr'>): Uint8Array {
  const view = packr.pack(b);
  const own = new Uint8Array(view.length);
  own.set(view);
  return own;
}

/** Unpacks what packIngestBatch packed. */
export function unpackIngestBatch(data: Uint8Array): Omit<IngestBatch, 'tr'> {
  return packr.unpack(data) as Omit<IngestBatch, 'tr'>;
}

/**
 * Trades as columns for the crossing: the numbers in one transferable buffer
 * (Float64 ts, price, size, bid, ask — NaN where absent —, then Uint32 symbol
 * index, then Uint8 side), the symbols once each, the ids only when some
 * trade has one. Unpacking builds each trade object in one step, where
 * msgpackr's records allocated strings and intermediate values per trade:
 * the trades were most of the main thread's allocation at 100 k trades/s.
 */
export interface PackedTrades {
  readonly n: number;
  readonly buf: ArrayBuffer;
  readonly symbols: string[];
  readonly ids: (string | null)[] | undefined;
}

/** Packs trades into columns (see PackedTrades); transfer `buf`. */
export function packTrades(trades: readonly Trade[]): PackedTrades {
  const n = trades.length;
  const buf = new ArrayBuffer(n * 45);
  const num = new Float64Array(buf, 0, 5 * n);
  const sym = new Uint32Array(buf, 40 * n, n);
  const side = new Uint8Array(buf, 44 * n, n);
  const symbols: string[] = [];
  const index = new Map<string, number>();
  let ids: (string | null)[] | undefined;
  for (let i = 0; i < n; i++) {
    const t = trades[i]!;
    num[i] = t.ts;
    num[n + i] = t.price;
    num[2 * n + i] = t.size;
    num[3 * n + i] = t.bid ?? Number.NaN;
    num[4 * n + i] = t.ask ?? Number.NaN;
    let s = index.get(t.symbol);
    if (s === undefined) {
      s = symbols.length;
      symbols.push(t.symbol);
      index.set(t.symbol, s);
    }
    sym[i] = s;
    side[i] = sideCode(t.side);
    if (t.id !== undefined) (ids ??= new Array<string | null>(n).fill(null))[i] = t.id;
  }
  return { n, buf, symbols, ids };
}

/** The trades packTrades packed, each with the fields it was packed with. */
export function unpackTrades(p: PackedTrades): Trade[] {
  const { n, symbols, ids } = p;
  const num = new Float64Array(p.buf, 0, 5 * n);
  const sym = new Uint32Array(p.buf, 40 * n, n);
  const side = new Uint8Array(p.buf, 44 * n, n);
  const out = new Array<Trade>(n);
  for (let i = 0; i < n; i++) {
    const sd = side[i];
    const bid = num[3 * n + i]!;
    const ask = num[4 * n + i]!;
    const id = ids?.[i];
    if (sd !== SIDE_UNKNOWN && bid === bid && ask === ask && (id === undefined || id === null)) {
      // The common shape (the synthetic feed's) as one literal: every field in the object itself, one allocation
      // (adding fields one by one moved them to a separate property array).
      out[i] = { symbol: symbols[sym[i]!]!, ts: num[i]!, price: num[n + i]!, size: num[2 * n + i]!, side: sd === SIDE_BUY ? 'buy' : 'sell', bid, ask };
      continue;
    }
    const t: { -readonly [K in keyof Trade]: Trade[K] } = { symbol: symbols[sym[i]!]!, ts: num[i]!, price: num[n + i]!, size: num[2 * n + i]! };
    if (sd === SIDE_BUY) t.side = 'buy';
    else if (sd === SIDE_SELL) t.side = 'sell';
    if (id !== undefined && id !== null) t.id = id;
    if (bid === bid) t.bid = bid;
    if (ask === ask) t.ask = ask;
    out[i] = t;
  }
  return out;
}
