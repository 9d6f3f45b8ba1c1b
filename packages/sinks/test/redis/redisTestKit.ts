// Helpers shared by the Redis integration tests.
import { MarketSimulator } from '@tickflow/core/synthetic';
import type { Candle, Quote, Source, Trade } from '@tickflow/core';
import { Redis } from 'ioredis';

export const quiet = (): void => {};

/** Synthetic trades (seeded, in event-time order, with exchange ids). */
export function makeTrades(count: number, { seed = 7, symbols = 5, rate = 20 } = {}): Trade[] {
  const m = new MarketSimulator({ seed, symbols, rate });
  return Array.from({ length: count }, () => m.nextTrade());
}

/** Synthetic quotes (seeded). */
export function makeQuotes(count: number, { seed = 7, symbols = 5, rate = 20 } = {}): Quote[] {
  const m = new MarketSimulator({ seed, symbols, rate });
  return Array.from({ length: count }, () => m.nextQuote());
}

/** The last trade per symbol by event time (ties: the later one), as the store keeps it. */
export function lastTrades(trades: readonly Trade[]): Map<string, Trade> {
  const out = new Map<string, Trade>();
  for (const t of trades) {
    const b = out.get(t.symbol);
    if (b === undefined || t.ts >= b.ts) out.set(t.symbol, t);
  }
  return out;
}

/** The latest candle per symbol and timeframe: highest start, then highest rev (ties: the later one). */
export function latestCandles(candles: readonly Candle[]): Map<string, Candle> {
  const out = new Map<string, Candle>();
  for (const c of candles) {
    const k = `${c.symbol}:${c.timeframe}`;
    const b = out.get(k);
    if (b === undefined || c.start > b.start || (c.start === b.start && c.rev >= b.rev)) out.set(k, c);
  }
  return out;
}

/** A trade as the history returns it (no bid/ask). */
export function historyView(t: Trade): Trade {
  const v: Trade = { symbol: t.symbol, ts: t.ts, price: t.price, size: t.size };
  if (t.side !== undefined) v.side = t.side;
  if (t.id !== undefined) v.id = t.id;
  return v;
}

export function bySymbol<T extends { symbol: string }>(rows: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const l = out.get(r.symbol);
    if (l === undefined) out.set(r.symbol, [r]);
    else l.push(r);
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A source that yields `rows` in batches of `batchSize`, `pauseMs` apart (a
 * live feed), calling `onBatch(i)` before batch i (to break things mid-stream).
 */
export function pacedSource<T>(rows: readonly T[], batchSize: number, pauseMs: number, onBatch?: (i: number) => Promise<void> | void): Source<T> {
  return {
    name: 'paced',
    async *read() {
      for (let i = 0, b = 0; i < rows.length; i += batchSize, b++) {
        await onBatch?.(b);
        yield rows.slice(i, i + batchSize);
        await sleep(pauseMs); // paces the feed on purpose: a live source, so failures land mid-stream
      }
    },
  };
}

/** A plain client for checking what is in Redis (not the store under test). */
export function rawClient(host: string, port: number): Redis {
  return new Redis({ host, port, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/**
 * Trades in the order the store's history keeps them: by event time, and
 * trades of the same millisecond by their stored member (price, size, side,
 * key): Redis orders equal scores by member, and no arrival order survives a
 * replay anyway.
 */
export function historyOrder(trades: readonly Trade[]): Trade[] {
  const member = (t: Trade): string => `${t.price}|${t.size}|${t.side ?? ''}|${t.id !== undefined ? 'i' : 'k'}${t.id ?? ''}`;
  return trades
    .map((t) => ({ t, m: member(t) }))
    .sort((a, b) => a.t.ts - b.t.ts || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0))
    .map(({ t }) => historyView(t));
}
