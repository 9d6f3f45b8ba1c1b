import type { Candle, DeadLetter, Job, LateEvent, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { pipeline, quoteOfTrade, syntheticTrades } from '@tickflow/core';
import type { Quote } from '@tickflow/core';
import type { WsServer } from '@tickflow/ws-server';
import { aggregationOperators } from '../aggregation.js';
import type { InMemoryMarketStore } from './marketStore.js';
import type { StoreOutputs } from './storeBackends.js';
import type { ServerMetrics } from './serverMetrics.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';

/** Options of the embedded feed. */
export interface MarketFeedOptions {
  readonly symbols: number;
  readonly rate: number;
  readonly seed: number;
  readonly store: InMemoryMarketStore;
  readonly ws: WsServer;
  readonly metrics: ServerMetrics;
  /** Called with every batch of trades after it is stored (paper-order fills). */
  readonly onTrades: (batch: readonly Trade[]) => void;
  /** Called with every stored candle update (the live page's event stream). */
  readonly onCandles: (batch: readonly Candle[]) => void;
  readonly warn: (message: string) => void;
  /** Full mode: every window update and raw trade batch also goes here (the store sinks). */
  readonly outputs?: StoreOutputs | undefined;
}

/** The running feed. */
export interface MarketFeed {
  readonly stats: () => { events: number; emitted: number; late: number; deadLetters: number };
  /** Stops intake, then flushes the window jobs (their pending updates are delivered). */
  stop(): Promise<void>;
}

const LIVE = { outOfOrderness: '1s', wallClockLag: '2s', idleTimeout: '5s' } as const;
const EMIT = { mode: 'update', throttle: '250ms' } as const;

/**
 * Embedded ingest: the synthetic trade feed (trades carry bid/ask, so quotes
 * come with them) on the wall clock → the raw-trade store, the WebSocket
 * `trades`/`quotes` channels and three window jobs built from the same
 * operators as `tickflow aggregate`: candles (1m, 5m and, rolled up by the
 * operator, 15m, 1h, 1d), volume profiles (1m, 5m) and tick counts (1m).
 * Their results go to the store and the WebSocket server.
 */
export function startMarketFeed(o: MarketFeedOptions): MarketFeed {
  const late = { write: (b: readonly LateEvent[]) => void o.metrics.late.inc(b.length) };
  const dead = {
    write: (b: readonly DeadLetter[]) => {
      o.metrics.deadLetters.inc(b.length);
      for (const d of b) o.warn(`dead letter from ${d.origin}: ${d.reason}`);
    },
  };
  const c = aggregationOperators({ timeframes: [...CANDLE_TIMEFRAMES], kind: 'candles', grace: '5s', emit: EMIT });
  const candleJob = pipeline<Trade>({ name: 'candles', ...LIVE }).pipe(c[0], c[1]).late(late).deadLetters(dead).to({
    write(batch: readonly Candle[]) {
      o.metrics.windows.inc({ kind: 'candles' }, batch.length);
      o.outputs?.candles(batch);
      const fresh: Candle[] = [];
      for (const x of batch) if (o.store.upsertCandle(x)) fresh.push(x);
      if (fresh.length > 0) {
        o.ws.publish('candles', fresh);
        o.onCandles(fresh);
      }
    },
  });
  const p = aggregationOperators({ timeframes: ['1m', '5m'], kind: 'profile', grace: '5s', emit: EMIT });
  const profileJob = pipeline<Trade>({ name: 'profiles', ...LIVE }).pipe(p[0], p[1]).late(late).deadLetters(dead).to({
    write(batch: readonly VolumeProfile[]) {
      o.metrics.windows.inc({ kind: 'profile' }, batch.length);
      o.outputs?.profiles(batch);
      const fresh = batch.filter((x) => o.store.upsertProfile(x));
      if (fresh.length > 0) o.ws.publish('profile', fresh);
    },
  });
  const t = aggregationOperators({ timeframes: ['1m'], kind: 'ticks', grace: '5s', emit: EMIT });
  const tickJob = pipeline<Trade>({ name: 'ticks', ...LIVE }).pipe(t[0], t[1]).late(late).deadLetters(dead).to({
    write(batch: readonly TickCount[]) {
      o.metrics.windows.inc({ kind: 'ticks' }, batch.length);
      o.outputs?.ticks(batch);
      for (const x of batch) o.store.upsertTicks(x);
    },
  });
  const windowJobs: Job<Trade, unknown>[] = [candleJob, profileJob, tickJob];
  const ticker = setInterval(() => {
    for (const j of windowJobs) j.tick();
  }, 100);

  const ac = new AbortController();
  const ingest = pipeline(syntheticTrades({ symbols: o.symbols, rate: o.rate, seed: o.seed, clock: 'wall' }), { name: 'ingest', ...LIVE })
    .deadLetters(dead)
    .to({
      write(batch: readonly Trade[]) {
        o.metrics.ingested(batch.length, batch.length > 0 ? batch[batch.length - 1]!.ts : undefined);
        o.store.addTrades(batch);
        o.outputs?.trades(batch);
        for (const j of windowJobs) j.pushBatch(batch);
        o.ws.publish('trades', batch);
        const quotes: Quote[] = [];
        for (const tr of batch) {
          const q = quoteOfTrade(tr);
          if (q !== undefined) quotes.push(q);
        }
        if (quotes.length > 0) o.ws.publish('quotes', quotes);
        o.onTrades(batch);
      },
    });
  const running = ingest.run({ signal: ac.signal });
  running.catch((e: unknown) => o.warn(`ingest stopped: ${e instanceof Error ? e.message : String(e)}`));

  return {
    stats: () => {
      const s = ingest.stats;
      let emitted = 0;
      let lateN = 0;
      let deadN = s.deadLetters;
      for (const j of windowJobs) {
        emitted += j.stats.emitted;
        lateN += j.stats.late;
        deadN += j.stats.deadLetters;
      }
      return { events: s.events, emitted, late: lateN, deadLetters: deadN };
    },
    async stop() {
      ac.abort();
      await running.catch(() => undefined);
      clearInterval(ticker);
      for (const j of windowJobs) await j.flush().catch(() => undefined);
    },
  };
}
