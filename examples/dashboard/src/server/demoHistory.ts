import type { Candle, Job, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { pipeline } from '@tickflow/core';
import { MarketSimulator, intradayVolumeFactor } from '@tickflow/core/synthetic';
import { aggregationOperators } from '../aggregation.js';
import type { InMemoryMarketStore } from './marketStore.js';
import { PROFILE_TIMEFRAMES, TICK_TIMEFRAMES } from './marketFeed.js';
import { CANDLE_TIMEFRAMES } from './serverConfig.js';

/** Settings of the demo history: the live feed's symbols and seed, how far back, how many trades a second. */
export interface DemoHistoryOptions {
  readonly symbols: number;
  readonly seed: number;
  /** How far back the history goes (ms). */
  readonly spanMs: number;
  /** Trades per second in the history (all symbols). */
  readonly rate: number;
  /** Where the history ends (the live feed starts here). Default now. */
  readonly now?: number;
  /**
   * The prices the live feed starts from (e.g. the saved prices of the last
   * run, see demoPrices.ts): the history ends exactly at them. Default: the
   * seeded prices.
   */
  readonly startPrices?: Readonly<Record<string, number>>;
  /**
   * Trades per second of the live feed. The history has fewer trades a second
   * (`rate`); their sizes are scaled by `liveRate / rate` so a history bar
   * carries about the volume of a live one. Default `rate` (no scaling).
   */
  readonly liveRate?: number;
  /** `'intraday'`: sizes follow the simulator's U over the UTC day at each trade's time (as the live feed's with the same shape). Default `'flat'`. */
  readonly volumeShape?: 'flat' | 'intraday';
}

/**
 * Fills the store with the synthetic market's past, through the same
 * operators as the live jobs, so every chart has history at first view.
 *
 * The market simulator's walk is run forward from the live feed's starting
 * prices (same seed, same symbols) and then reversed in time: a random walk
 * read backwards is a random walk, and this one ends exactly at the prices
 * the live feed starts from (the seeded ones, or `startPrices` when the demo
 * continues a previous run), so there is no jump where history meets live.
 * The trades go to the store's rings too. Only windows that ended by `now` are stored; the windows still open are
 * built by the live jobs from live trades.
 */
export async function backfillDemoHistory(store: InMemoryMarketStore, o: DemoHistoryOptions): Promise<{ trades: number; candles: number; ms: number }> {
  const began = Date.now();
  const now = o.now ?? Date.now();
  const market = new MarketSimulator({ seed: o.seed, symbols: o.symbols, rate: o.rate, clock: 'simulated', start: 0, startPrices: o.startPrices });
  const scale = (o.liveRate ?? o.rate) / o.rate;
  const intraday = o.volumeShape === 'intraday';
  const forward: Trade[] = [];
  for (;;) {
    const t = market.nextTrade();
    if (t.ts >= o.spanMs) break;
    forward.push(t);
  }
  const trades = new Array<Trade>(forward.length);
  for (let i = 0; i < forward.length; i++) {
    const t = forward[forward.length - 1 - i]!;
    const ts = now - 1 - t.ts;
    // Round lots stay round when scaled.
    const factor = scale * (intraday ? intradayVolumeFactor(ts) : 1);
    const size = factor === 1 ? t.size : t.size % 100 === 0 ? 100 * Math.max(1, Math.round((t.size / 100) * factor)) : Math.max(1, Math.round(t.size * factor));
    // Backwards in time, the aggressor side flips with the move.
    trades[i] = { ...t, ts, size, side: t.side === 'buy' ? 'sell' : 'buy', id: `h${i + 1}`, bid: t.bid, ask: t.ask };
  }
  let candles = 0;
  const closed = <T extends { end: number }>(x: T): boolean => x.end <= now;
  const c = aggregationOperators({ timeframes: [...CANDLE_TIMEFRAMES], kind: 'candles', grace: 0, emit: 'final' });
  const p = aggregationOperators({ timeframes: [...PROFILE_TIMEFRAMES], kind: 'profile', grace: 0, emit: 'final' });
  const k = aggregationOperators({ timeframes: [...TICK_TIMEFRAMES], kind: 'ticks', grace: 0, emit: 'final' });
  const jobs: Job<Trade, unknown>[] = [
    pipeline<Trade>({ name: 'history-candles', outOfOrderness: 0 }).pipe(c[0], c[1]).to({
      write(batch: readonly Candle[]) {
        for (const x of batch) if (closed(x) && store.upsertCandle(x)) candles++;
      },
    }),
    pipeline<Trade>({ name: 'history-profiles', outOfOrderness: 0 }).pipe(p[0], p[1]).to({
      write(batch: readonly VolumeProfile[]) {
        for (const x of batch) if (closed(x)) store.upsertProfile(x);
      },
    }),
    pipeline<Trade>({ name: 'history-ticks', outOfOrderness: 0 }).pipe(k[0], k[1]).to({
      write(batch: readonly TickCount[]) {
        for (const x of batch) if (closed(x)) store.upsertTicks(x);
      },
    }),
  ];
  for (let i = 0; i < trades.length; i += 8192) {
    const batch = trades.slice(i, i + 8192);
    store.addTrades(batch); // the trade rings keep the newest: /api/historical and last prices from the first second
    for (const j of jobs) await j.pushBatch(batch);
  }
  for (const j of jobs) await j.end();
  return { trades: trades.length, candles, ms: Date.now() - began };
}
