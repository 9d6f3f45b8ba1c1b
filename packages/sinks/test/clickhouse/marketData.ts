// Shared by the ClickHouse integration tests: synthetic trades, the
// aggregates the windowing operators emit for them, and the rows a store
// should hold afterwards (highest rev per key).
import { fromArray, keyBy, pipeline, tap } from '@tickflow/core';
import { MarketSimulator } from '@tickflow/core/synthetic';
import type { Candle, Output, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { ohlcv, tickCount, tumbling, volumeProfile } from '@tickflow/windowing';

/** A unique database name per test file and run, so tests never share tables (also on a developer's own server). */
export function testDatabase(label: string): string {
  return `tickflow_test_${label}_${process.pid}_${Date.now().toString(36)}`;
}

/**
 * Synthetic trades with disorder (so windows get corrections, rev > 1),
 * every third one without an exchange id, and one genuine identical print
 * pair without ids (both must be stored).
 */
export function marketTrades({ count, symbols = 12, seed = 7, start }: { count: number; symbols?: number; seed?: number; start?: number }): Trade[] {
  const sim = new MarketSimulator({ seed, symbols, rate: 40, outOfOrder: { probability: 0.08, maxDelay: 4_000 }, ...(start !== undefined ? { start } : {}) });
  const trades: Trade[] = [];
  for (let i = 0; i < count; i++) {
    const t = sim.nextTrade();
    if (i % 3 === 0) delete t.id;
    trades.push(t);
  }
  // Identical prints arrive together: put the copy right after the original.
  const twin = trades.findIndex((t) => t.id === undefined);
  trades.splice(twin + 1, 0, { ...trades[twin]! });
  return trades;
}

/** Keeps the highest rev of each (symbol, timeframe, start), sorted by start then symbol (the read order). */
export function latest<T extends { symbol: string; timeframe: string; start: number; rev: number }>(rows: readonly T[]): T[] {
  const best = new Map<string, T>();
  for (const r of rows) {
    const k = `${r.symbol}|${r.timeframe}|${r.start}`;
    const b = best.get(k);
    if (b === undefined || r.rev >= b.rev) best.set(k, r);
  }
  return [...best.values()].sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}

/** Trades in a canonical order (for comparing sets of trades). */
export function canonical(trades: readonly Trade[]): Trade[] {
  const key = (t: Trade): string => `${String(t.ts).padStart(16, '0')}|${t.symbol}|${t.id ?? ''}|${t.price}|${t.size}|${t.side ?? ''}`;
  return [...trades].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** What the operators emitted, per pipeline. */
export interface Emitted {
  candles: Candle[];
  volumeProfiles: VolumeProfile[];
  tickCounts: TickCount[];
}

/** Sinks (or any outputs) for each kind of row. */
export interface Outputs {
  trades: Output<Trade>;
  candles: Output<Candle>;
  volumeProfiles: Output<VolumeProfile>;
  tickCounts: Output<TickCount>;
}

/**
 * Runs the trades through four pipelines: raw trades, tumbling 1m+5m OHLCV,
 * 1m volume profile and 1m tick count, each into its output; returns what
 * the operators emitted.
 */
export async function runPipelines(trades: readonly Trade[], out: Outputs): Promise<Emitted> {
  const emitted: Emitted = { candles: [], volumeProfiles: [], tickCounts: [] };
  const options = { outOfOrderness: '1s', onWarning: () => {} } as const;
  await pipeline(fromArray(trades, { batchSize: 1_000 })).to(out.trades).run();
  await pipeline(fromArray(trades, { batchSize: 1_000 }), options)
    .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'], grace: '10s' }, ohlcv()), tap((c: Candle) => emitted.candles.push(c)))
    .to(out.candles)
    .run();
  await pipeline(fromArray(trades, { batchSize: 1_000 }), options)
    .pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '10s' }, volumeProfile({ step: 0.25 })), tap((v: VolumeProfile) => emitted.volumeProfiles.push(v)))
    .to(out.volumeProfiles)
    .run();
  await pipeline(fromArray(trades, { batchSize: 1_000 }), options)
    .pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '10s' }, tickCount()), tap((t: TickCount) => emitted.tickCounts.push(t)))
    .to(out.tickCounts)
    .run();
  return emitted;
}
