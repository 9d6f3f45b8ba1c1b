import type { Side, TickCount } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core';
import type { Aggregator, ColumnsLike, WindowRef } from './aggregator.js';

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

/** Tick count as a mergeable aggregator (see `tickCount()`). */
export class TickCountAggregator implements Aggregator<TickCountInput, TickCountAcc, TickCount> {
  readonly name = 'tickCount';

  create(): TickCountAcc {
    return new TickCountAcc();
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
