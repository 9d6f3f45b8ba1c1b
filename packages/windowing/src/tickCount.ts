import type { Side, TickCount } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core/extend';
import type { Aggregator, ColumnsLike, PackedAggregator, WindowRef } from './aggregator.js';
import { PackedView } from './packedView.js';

/** What a tick count reads from an event. */
export interface TickCountInput {
  readonly side?: Side | undefined;
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

/** Tick count as a mergeable aggregator (see `tickCount()`): the object view of PackedTickCount. */
export class TickCountAggregator extends PackedView<TickCountInput, TickCount> {
  readonly name = 'tickCount';

  constructor() {
    super(new PackedTickCount());
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
export function tickCount(): Aggregator<TickCountInput, Float64Array, TickCount> {
  return new TickCountAggregator();
}
