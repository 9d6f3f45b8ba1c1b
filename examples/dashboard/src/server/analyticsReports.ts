import type { Candle } from '@tickflow/core';
import { dailyOf } from '@tickflow/sinks';
import type { DailyOhlc, SymbolVolume } from '@tickflow/sinks';
import type { InMemoryMarketStore } from './marketStore.js';

// Volume by symbol and daily rows from candles: one driver-free implementation in @tickflow/sinks
// (packages/sinks/src/volumeBySymbol.ts), shared with the ClickHouse readers.
export { dailyOf, volumeBySymbol } from '@tickflow/sinks';
export type { DailyOhlc, SymbolVolume };

/** A symbol's move over a report's range: the open of its first hour, the close of its last. */
export interface SymbolMove {
  readonly symbol: string;
  readonly open: number;
  readonly close: number;
  readonly change: number;
  /** (close − open) / open × 100. */
  readonly changePct: number;
}

/** A symbol's volume-weighted average price over a report's range. */
export interface SymbolVwap {
  readonly symbol: string;
  /** Σ price × size / Σ size. */
  readonly vwap: number;
  readonly volume: number;
  readonly trades: number;
}

/** `GET /api/report`: top movers, most traded, VWAP by symbol over a range of hours. */
export interface MarketReport {
  readonly from: number;
  readonly to: number;
  /** Symbols that traded in the range. */
  readonly symbols: number;
  /** By |changePct|, largest first (ties by symbol). */
  readonly topMovers: SymbolMove[];
  /** By volume, largest first. */
  readonly mostTradedByVolume: SymbolVolume[];
  /** By trade count, largest first. */
  readonly mostTradedByTrades: SymbolVolume[];
  /** Every symbol that traded, by symbol. */
  readonly vwap: SymbolVwap[];
}

const bySymbol = (a: { symbol: string }, b: { symbol: string }): number => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0);

/** First open and last close per symbol of hourly candles (in any order). */
export function movesOf(candles: readonly Candle[]): SymbolMove[] {
  const first = new Map<string, Candle>();
  const last = new Map<string, Candle>();
  for (const c of candles) {
    const f = first.get(c.symbol);
    if (f === undefined || c.start < f.start) first.set(c.symbol, c);
    const l = last.get(c.symbol);
    if (l === undefined || c.start > l.start) last.set(c.symbol, c);
  }
  const out: SymbolMove[] = [];
  for (const [symbol, f] of first) {
    const close = last.get(symbol)!.close;
    out.push({ symbol, open: f.open, close, change: close - f.open, changePct: f.open === 0 ? 0 : ((close - f.open) / f.open) * 100 });
  }
  return out.sort(bySymbol);
}

/**
 * The report of a range from each symbol's volume sums and move: the
 * `limit` largest movers and most traded symbols, and the VWAP of every
 * symbol (notional / volume).
 *
 * @example
 * ```ts
 * const r = buildReport({ from, to, volumes, moves, limit: 5 });
 * ```
 */
export function buildReport({ from, to, volumes, moves, limit }: { from: number; to: number; volumes: readonly SymbolVolume[]; moves: readonly SymbolMove[]; limit: number }): MarketReport {
  const traded = volumes.filter((v) => v.trades > 0);
  const tradedSymbols = new Set(traded.map((v) => v.symbol));
  const topMovers = moves
    .filter((m) => tradedSymbols.has(m.symbol))
    .sort((a, b) => Math.abs(b.changePct) - Math.abs(a.changePct) || bySymbol(a, b))
    .slice(0, limit);
  const mostTradedByVolume = [...traded].sort((a, b) => b.volume - a.volume || bySymbol(a, b)).slice(0, limit);
  const mostTradedByTrades = [...traded].sort((a, b) => b.trades - a.trades || bySymbol(a, b)).slice(0, limit);
  const vwap = [...traded].sort(bySymbol).map((v) => ({ symbol: v.symbol, vwap: v.volume === 0 ? 0 : v.notional / v.volume, volume: v.volume, trades: v.trades }));
  return { from, to, symbols: traded.length, topMovers, mostTradedByVolume, mostTradedByTrades, vwap };
}

/** Embedded mode: daily bars of a symbol from the in-process `1d` candles (days starting in [from, to)), oldest first. */
export async function dailyFromMemory(store: InMemoryMarketStore, q: { symbol: string; from: number; to: number; limit: number }): Promise<DailyOhlc[]> {
  return (await store.candles({ ...q, timeframe: '1d' })).map(dailyOf);
}

/** Embedded mode: the in-process `1h` candles of every symbol with start in [from, to). */
export async function hourlyFromMemory(store: InMemoryMarketStore, q: { from: number; to: number }): Promise<Candle[]> {
  const out: Candle[] = [];
  for (const symbol of await store.symbols()) out.push(...(await store.candles({ symbol, timeframe: '1h', from: q.from, to: q.to, limit: Number.MAX_SAFE_INTEGER })));
  return out;
}
