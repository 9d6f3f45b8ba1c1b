import type { Side, TickCount } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core';
import type { Aggregator, ColumnsLike, PackedAggregator, WindowRef } from './aggregator.js';

/** What a tick count reads from an event. */
export interface TickCountInput {
  readonly side?: Side | undefined;
}

/** Tick-count accumulator. */
export class TickCountAcc {
  trades = 0;
  buys = 0;
  sells = 0;
}

/** Tick count on a packed layout: [trades, buys, sells]. */
export class PackedTickCount implements PackedAggregator<TickCountInput, TickCount> {
  readonly stride = 3;

  init(s: Float64Array, b: number): void {
    s[b] = 0;
    s[b + 1] = 0;
    s[b + 2] = 0;
  }

  add(s: Float64Array, b: number, e: TickCountInput): void {
    s[b]!++;
    if (e.side === 'buy') s[b + 1]!++;
    else if (e.side === 'sell') s[b + 2]!++;
  }

  addColumns(s: Float64Array, b: number, c: ColumnsLike, i: number): void {
    s[b]!++;
    const side = c.side === undefined ? 0 : c.side[i]!;
    if (side === SIDE_BUY) s[b + 1]!++;
    else if (side === SIDE_SELL) s[b + 2]!++;
  }

  merge(s: Float64Array, into: number, from: number): void {
    s[into]! += s[from]!;
    s[into + 1]! += s[from + 1]!;
    s[into + 2]! += s[from + 2]!;
  }

  result(s: Float64Array, b: number, w: WindowRef): TickCount {
    return { symbol: w.key, timeframe: w.timeframe, start: w.start, end: w.end, trades: s[b]!, buyTrades: s[b + 1]!, sellTrades: s[b + 2]!, final: w.final, rev: w.rev };
  }
}

/** Tick count as a mergeable aggregator (see `tickCount()`). */
export class TickCountAggregator implements Aggregator<TickCountInput, TickCountAcc, TickCount> {
  readonly name = 'tickCount';
  readonly packed: PackedAggregator<TickCountInput, TickCount> = new PackedTickCount();

  create(): TickCountAcc {
    return new TickCountAcc();
  }

  reset(acc: TickCountAcc): void {
    acc.trades = 0;
    acc.buys = 0;
    acc.sells = 0;
  }

  add(acc: TickCountAcc, e: TickCountInput): void {
    acc.trades++;
    if (e.side === 'buy') acc.buys++;
    else if (e.side === 'sell') acc.sells++;
  }

  addColumns(acc: TickCountAcc, c: ColumnsLike, i: number): void {
    acc.trades++;
    const s = c.side === undefined ? 0 : c.side[i]!;
    if (s === SIDE_BUY) acc.buys++;
    else if (s === SIDE_SELL) acc.sells++;
  }

  merge(into: TickCountAcc, from: TickCountAcc): void {
    into.trades += from.trades;
    into.buys += from.buys;
    into.sells += from.sells;
  }

  result(acc: TickCountAcc, w: WindowRef): TickCount {
    return {
      symbol: w.key,
      timeframe: w.timeframe,
      start: w.start,
      end: w.end,
      trades: acc.trades,
      buyTrades: acc.buys,
      sellTrades: acc.sells,
      final: w.final,
      rev: w.rev,
    };
  }

  same(x: TickCount, y: TickCount): boolean {
    return x.trades === y.trades && x.buyTrades === y.buyTrades && x.sellTrades === y.sellTrades;
  }
}

/**
 * Tick count: trades per window, in total and by aggressor side. Mergeable.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(keyBy('symbol'), tumbling({ size: '1m' }, tickCount()));
 * ```
 */
export function tickCount(): Aggregator<TickCountInput, TickCountAcc, TickCount> {
  return new TickCountAggregator();
}
