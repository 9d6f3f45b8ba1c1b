import type { Candle, Side } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core';
import type { Aggregator, ColumnsLike, WindowRef } from './aggregator.js';

/** What OHLCV reads from an event. */
export interface OhlcvInput {
  readonly ts: number;
  readonly price: number;
  readonly size: number;
  readonly side?: Side | undefined;
}

/**
 * OHLCV accumulator. Sums are double-double pairs (`…Hi` + `…Lo`); open and
 * close remember the event time and arrival sequence that chose them.
 */
export class OhlcvAcc {
  trades = 0;
  open = 0;
  openTs = 0;
  openSeq = 0;
  close = 0;
  closeTs = 0;
  closeSeq = 0;
  high = Number.NEGATIVE_INFINITY;
  low = Number.POSITIVE_INFINITY;
  volHi = 0;
  volLo = 0;
  notHi = 0;
  notLo = 0;
  buyHi = 0;
  buyLo = 0;
  sellHi = 0;
  sellLo = 0;
}

function addRow(a: OhlcvAcc, ts: number, p: number, q: number, side: number, seq: number): void {
  if (a.trades === 0) {
    a.open = p;
    a.openTs = ts;
    a.openSeq = seq;
    a.close = p;
    a.closeTs = ts;
    a.closeSeq = seq;
    a.high = p;
    a.low = p;
  } else {
    // Arrival order breaks ties: the first arrival keeps open, the last takes close.
    if (ts < a.openTs) {
      a.open = p;
      a.openTs = ts;
      a.openSeq = seq;
    }
    if (ts >= a.closeTs) {
      a.close = p;
      a.closeTs = ts;
      a.closeSeq = seq;
    }
    if (p > a.high) a.high = p;
    if (p < a.low) a.low = p;
  }
  a.trades++;
  // Compensated sums (TwoSum), inlined for the hot path.
  let hi = a.volHi;
  let s = hi + q;
  let bp = s - hi;
  a.volLo += hi - (s - bp) + (q - bp);
  a.volHi = s;
  const n = p * q;
  hi = a.notHi;
  s = hi + n;
  bp = s - hi;
  a.notLo += hi - (s - bp) + (n - bp);
  a.notHi = s;
  if (side === SIDE_BUY) {
    hi = a.buyHi;
    s = hi + q;
    bp = s - hi;
    a.buyLo += hi - (s - bp) + (q - bp);
    a.buyHi = s;
  } else if (side === SIDE_SELL) {
    hi = a.sellHi;
    s = hi + q;
    bp = s - hi;
    a.sellLo += hi - (s - bp) + (q - bp);
    a.sellHi = s;
  }
}

function mergeSum(into: OhlcvAcc, hiKey: 'volHi' | 'notHi' | 'buyHi' | 'sellHi', loKey: 'volLo' | 'notLo' | 'buyLo' | 'sellLo', fromHi: number, fromLo: number): void {
  const hi = into[hiKey];
  const s = hi + fromHi;
  const bp = s - hi;
  into[loKey] += hi - (s - bp) + (fromHi - bp) + fromLo;
  into[hiKey] = s;
}

/** OHLCV as a mergeable aggregator (see `ohlcv()`). */
export class OhlcvAggregator implements Aggregator<OhlcvInput, OhlcvAcc, Candle> {
  readonly name = 'ohlcv';

  create(): OhlcvAcc {
    return new OhlcvAcc();
  }

  add(acc: OhlcvAcc, t: OhlcvInput, seq: number): void {
    const side = t.side;
    addRow(acc, t.ts, t.price, t.size, side === 'buy' ? SIDE_BUY : side === 'sell' ? SIDE_SELL : 0, seq);
  }

  addColumns(acc: OhlcvAcc, c: ColumnsLike, i: number, seq: number): void {
    addRow(acc, c.ts[i]!, c.price[i]!, c.size[i]!, c.side === undefined ? 0 : c.side[i]!, seq);
  }

  merge(into: OhlcvAcc, from: OhlcvAcc): void {
    if (from.trades === 0) return;
    if (into.trades === 0) {
      into.open = from.open;
      into.openTs = from.openTs;
      into.openSeq = from.openSeq;
      into.close = from.close;
      into.closeTs = from.closeTs;
      into.closeSeq = from.closeSeq;
      into.high = from.high;
      into.low = from.low;
    } else {
      if (from.openTs < into.openTs || (from.openTs === into.openTs && from.openSeq < into.openSeq)) {
        into.open = from.open;
        into.openTs = from.openTs;
        into.openSeq = from.openSeq;
      }
      if (from.closeTs > into.closeTs || (from.closeTs === into.closeTs && from.closeSeq > into.closeSeq)) {
        into.close = from.close;
        into.closeTs = from.closeTs;
        into.closeSeq = from.closeSeq;
      }
      if (from.high > into.high) into.high = from.high;
      if (from.low < into.low) into.low = from.low;
    }
    into.trades += from.trades;
    mergeSum(into, 'volHi', 'volLo', from.volHi, from.volLo);
    mergeSum(into, 'notHi', 'notLo', from.notHi, from.notLo);
    mergeSum(into, 'buyHi', 'buyLo', from.buyHi, from.buyLo);
    mergeSum(into, 'sellHi', 'sellLo', from.sellHi, from.sellLo);
  }

  result(a: OhlcvAcc, w: WindowRef): Candle {
    const volume = a.volHi + a.volLo;
    return {
      symbol: w.key,
      timeframe: w.timeframe,
      start: w.start,
      end: w.end,
      open: a.open,
      high: a.high,
      low: a.low,
      close: a.close,
      volume,
      trades: a.trades,
      // With no volume (only zero-size prints) the volume-weighted price is the last price.
      vwap: volume > 0 ? (a.notHi + a.notLo) / volume : a.close,
      buyVolume: a.buyHi + a.buyLo,
      sellVolume: a.sellHi + a.sellLo,
      final: w.final,
      rev: w.rev,
    };
  }

  same(x: Candle, y: Candle): boolean {
    return (
      x.open === y.open && x.high === y.high && x.low === y.low && x.close === y.close &&
      x.volume === y.volume && x.trades === y.trades && x.vwap === y.vwap &&
      x.buyVolume === y.buyVolume && x.sellVolume === y.sellVolume
    );
  }
}

/**
 * OHLCV candles: open (price at the earliest event time, ties by arrival),
 * high, low, close (latest event time, ties by last arrival), volume, trade
 * count, VWAP, and buy/sell volume by aggressor side. Mergeable, with a
 * columnar fast path.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(console.log);
 * ```
 * @see {@link volumeProfile}
 */
export function ohlcv(): Aggregator<OhlcvInput, OhlcvAcc, Candle> {
  return new OhlcvAggregator();
}
