import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { quoteOfTrade } from '@tickflow/core';
import type { WsServer } from '@tickflow/ws-server';
import type { InMemoryMarketStore } from './marketStore.js';
import type { ServerMetrics } from './serverMetrics.js';

/**
 * What ingest hands to the serving side, in order: raw trades, window
 * results, quotes of the quotes topic, late and dead-letter counts. The feed
 * and the window jobs call it in the thread they run in; with the ingest
 * worker (ingestWorker.ts) the calls cross to the main thread in batches. A
 * promise returned from `trades` is backpressure (the serving side is behind).
 */
export interface IngestEvents {
  trades(batch: readonly Trade[]): void | Promise<void>;
  candles(batch: readonly Candle[]): void;
  profiles(batch: readonly VolumeProfile[]): void;
  ticks(batch: readonly TickCount[]): void;
  /** Quotes of the Kafka quotes topic (trades carry their own). */
  quotes(batch: readonly Quote[]): void;
  late(count: number): void;
  /** Dead letters, one message each. */
  dead(messages: readonly string[]): void;
  warn(message: string): void;
}

/** The serving side: where ingested trades and window results are shown. */
export interface FeedTargets {
  readonly store: InMemoryMarketStore;
  readonly ws: WsServer;
  readonly metrics: ServerMetrics;
  /** Called with every batch of trades after it is stored (paper-order fills). */
  readonly onTrades: (batch: readonly Trade[]) => void;
  /** Called with every stored candle update. */
  readonly onCandles?: (batch: readonly Candle[]) => void;
  readonly warn: (message: string) => void;
}

/**
 * Applies ingest to the serving side: the in-process store (what REST reads
 * in embedded mode, and the recent window in full mode), the WebSocket
 * channels (trades, quotes derived from trades, candles, profiles), paper
 * fills and the metrics. Runs on the main thread.
 */
export function applyIngest(o: FeedTargets): IngestEvents {
  return {
    trades(batch) {
      o.metrics.ingested(batch.length, batch.length > 0 ? batch[batch.length - 1]!.ts : undefined);
      o.store.addTrades(batch);
      o.ws.publish('trades', batch);
      const quotes = latestQuotes(batch);
      if (quotes.length > 0) o.ws.publish('quotes', quotes);
      o.onTrades(batch);
    },
    candles(batch) {
      o.metrics.windows.inc({ kind: 'candles' }, batch.length);
      const fresh: Candle[] = [];
      for (const x of batch) if (o.store.upsertCandle(x)) fresh.push(x);
      if (fresh.length > 0) {
        o.ws.publish('candles', fresh);
        o.onCandles?.(fresh);
      }
    },
    profiles(batch) {
      o.metrics.windows.inc({ kind: 'profile' }, batch.length);
      const fresh = batch.filter((x) => o.store.upsertProfile(x));
      if (fresh.length > 0) o.ws.publish('profile', fresh);
    },
    ticks(batch) {
      o.metrics.windows.inc({ kind: 'ticks' }, batch.length);
      for (const x of batch) o.store.upsertTicks(x);
    },
    quotes(batch) {
      o.ws.publish('quotes', batch);
    },
    late(count) {
      o.metrics.late.inc(count);
    },
    dead(messages) {
      o.metrics.deadLetters.inc(messages.length);
      for (const m of messages) o.warn(m);
    },
    warn: o.warn,
  };
}

/**
 * The quotes a batch of trades carries, one per symbol: the quote of the
 * trade with the latest event time (ties: the later in the batch). The
 * quotes channel is keyed by symbol and keeps a quote only when it is not
 * older than the one it holds, so publishing this one gives the state and the
 * deltas that publishing every trade's quote in order would — without a
 * quote object per trade (at 100 k trades/s that was a tenth of the main
 * thread's allocation).
 */
export function latestQuotes(batch: readonly Trade[]): Quote[] {
  const last = new Map<string, Trade>();
  for (let i = 0; i < batch.length; i++) {
    const tr = batch[i]!;
    if (tr.bid === undefined || tr.ask === undefined) continue;
    const prev = last.get(tr.symbol);
    if (prev === undefined || tr.ts >= prev.ts) last.set(tr.symbol, tr);
  }
  const quotes: Quote[] = [];
  for (const tr of last.values()) quotes.push(quoteOfTrade(tr)!);
  return quotes;
}
