import type { Candle, Side } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core/extend';
import type { Aggregator, ColumnsLike, FastRun, PackedAggregator, WindowRef } from './aggregator.js';
import { addToPackedSum } from './compensatedSum.js';
import { PackedView } from './packedView.js';

/** What OHLCV reads from an event. */
export interface OhlcvInput {
  readonly ts: number;
  readonly price: number;
  readonly size: number;
  readonly side?: Side | undefined;
}

// Packed layout: offsets into a Float64Array row of STRIDE doubles.
// A const enum, so the bundler writes the numbers into the code: module-level constants are context
// loads in V8's bytecode, which made addPacked too large to inline (over V8's 460-byte limit).
const enum P {
  TRADES = 0,
  OPEN = 1,
  OPEN_TS = 2,
  OPEN_SEQ = 3,
  CLOSE = 4,
  CLOSE_TS = 5,
  CLOSE_SEQ = 6,
  HIGH = 7,
  LOW = 8,
  VOL = 9,
  NOT = 11,
  BUY = 13,
  SELL = 15,
  STRIDE = 17,
}
/** Offset of the side-volume sum per side code (as addPacked: buy → BUY, any other non-zero code → SELL). */
const SIDE_SUM = new Int32Array(256).fill(P.SELL);
SIDE_SUM[SIDE_BUY] = P.BUY;

function addPacked(s: Float64Array, b: number, ts: number, p: number, q: number, side: number, seq: number): void {
  if (s[b + P.TRADES] === 0) {
    s[b + P.OPEN] = p;
    s[b + P.OPEN_TS] = ts;
    s[b + P.OPEN_SEQ] = seq;
    s[b + P.CLOSE] = p;
    s[b + P.CLOSE_TS] = ts;
    s[b + P.CLOSE_SEQ] = seq;
    s[b + P.HIGH] = p;
    s[b + P.LOW] = p;
  } else {
    if (ts < s[b + P.OPEN_TS]!) {
      s[b + P.OPEN] = p;
      s[b + P.OPEN_TS] = ts;
      s[b + P.OPEN_SEQ] = seq;
    }
    if (ts >= s[b + P.CLOSE_TS]!) {
      s[b + P.CLOSE] = p;
      s[b + P.CLOSE_TS] = ts;
      s[b + P.CLOSE_SEQ] = seq;
    }
    if (p > s[b + P.HIGH]!) s[b + P.HIGH] = p;
    if (p < s[b + P.LOW]!) s[b + P.LOW] = p;
  }
  s[b + P.TRADES]!++;
  addToPackedSum(s, b + P.VOL, q);
  addToPackedSum(s, b + P.NOT, p * q);
  if (side !== 0) {
    const o = b + (side === SIDE_BUY ? P.BUY : P.SELL);
    addToPackedSum(s, o, q);
  }
}

function mergePackedSum(s: Float64Array, into: number, from: number): void {
  const hi = s[into]!;
  const fromHi = s[from]!;
  const x = hi + fromHi;
  const bp = x - hi;
  s[into + 1]! += hi - (x - bp) + (fromHi - bp) + s[from + 1]!;
  s[into] = x;
}

/** OHLCV on a packed Float64Array layout (17 doubles per window); the state behind OhlcvAggregator (its object view). */
export class PackedOhlcv implements PackedAggregator<OhlcvInput, Candle> {
  readonly stride = P.STRIDE;

  init(s: Float64Array, b: number): void {
    // Plain stores: TypedArray.prototype.fill costs more than the 17 writes for a range this short.
    for (let i = b; i < b + P.STRIDE; i++) s[i] = 0;
    s[b + P.HIGH] = Number.NEGATIVE_INFINITY;
    s[b + P.LOW] = Number.POSITIVE_INFINITY;
  }

  add(s: Float64Array, b: number, t: OhlcvInput, seq: number): void {
    const side = t.side;
    addPacked(s, b, t.ts, t.price, t.size, side === 'buy' ? SIDE_BUY : side === 'sell' ? SIDE_SELL : 0, seq);
  }

  addColumns(s: Float64Array, b: number, c: ColumnsLike, i: number, seq: number): void {
    addPacked(s, b, c.ts[i]!, c.price[i]!, c.size[i]!, c.side === undefined ? 0 : c.side[i]!, seq);
  }

  addRow(s: Float64Array, b: number, ts: number, price: number, size: number, side: number, seq: number): void {
    addPacked(s, b, ts, price, size, side, seq);
  }

  /**
   * The fused columnar kernel (see FastRun): finds each row's window and adds
   * it in the same loop, with addPacked's body inlined. Must stay equivalent
   * to addPacked, operation for operation.
   */
  addRunFast(s: Float64Array, c: ColumnsLike, from: number, to: number, f: FastRun): number {
    const tsCol = c.ts;
    const priceCol = c.price;
    const sizeCol = c.size;
    const sideCol = c.side;
    const ids = f.ids;
    const dictKey = f.dictKey;
    const kInput = f.kInput;
    const curStart = f.curStart;
    const curEnd = f.curEnd;
    const curW = f.curW;
    const wAcc = f.wAcc;
    const wCount = f.wCount;
    const stride = f.stride;
    const input = f.input;
    const watermarks = f.watermarks;
    const due = f.due;
    let maxTs = f.maxTs;
    let seq = f.seq;
    let i = from;
    for (; i < to; i++) {
      const ts = tsCol[i]!;
      const k = dictKey[ids[i]!]!;
      if (k < 0 || kInput[k] !== input || !(ts >= curStart[k]! && ts < curEnd[k]!)) break;
      const w = curW[k]!;
      wCount[w]!++;
      const b = wAcc[w]! * stride;
      const p = priceCol[i]!;
      const q = sizeCol[i]!;
      const side = sideCol === undefined ? 0 : sideCol[i]!;
      const t = s[b + P.TRADES]!;
      if (t === 0) {
        s[b + P.OPEN] = p;
        s[b + P.OPEN_TS] = ts;
        s[b + P.OPEN_SEQ] = seq;
        s[b + P.CLOSE] = p;
        s[b + P.CLOSE_TS] = ts;
        s[b + P.CLOSE_SEQ] = seq;
        s[b + P.HIGH] = p;
        s[b + P.LOW] = p;
      } else {
        if (ts < s[b + P.OPEN_TS]!) {
          s[b + P.OPEN] = p;
          s[b + P.OPEN_TS] = ts;
          s[b + P.OPEN_SEQ] = seq;
        }
        if (ts >= s[b + P.CLOSE_TS]!) {
          s[b + P.CLOSE] = p;
          s[b + P.CLOSE_TS] = ts;
          s[b + P.CLOSE_SEQ] = seq;
        }
        if (p > s[b + P.HIGH]!) s[b + P.HIGH] = p;
        if (p < s[b + P.LOW]!) s[b + P.LOW] = p;
      }
      s[b + P.TRADES] = t + 1;
      seq++;
      addToPackedSum(s, b + P.VOL, q);
      addToPackedSum(s, b + P.NOT, p * q);
      if (side !== 0) {
        const o = b + SIDE_SUM[side]!;
        addToPackedSum(s, o, q);
      }
      if (ts > maxTs) {
        maxTs = ts;
        // The watermark reached a window's end: the stage fires.
        if (watermarks.watermarkOf(ts) >= due) {
          i++;
          break;
        }
      }
    }
    f.maxTs = maxTs;
    f.seq = seq;
    return i;
  }

  merge(s: Float64Array, into: number, from: number): void {
    if (s[from + P.TRADES] === 0) return;
    if (s[into + P.TRADES] === 0) {
      s.copyWithin(into + P.OPEN, from + P.OPEN, from + P.LOW + 1);
    } else {
      const fOpenTs = s[from + P.OPEN_TS]!;
      const iOpenTs = s[into + P.OPEN_TS]!;
      if (fOpenTs < iOpenTs || (fOpenTs === iOpenTs && s[from + P.OPEN_SEQ]! < s[into + P.OPEN_SEQ]!)) {
        s[into + P.OPEN] = s[from + P.OPEN]!;
        s[into + P.OPEN_TS] = fOpenTs;
        s[into + P.OPEN_SEQ] = s[from + P.OPEN_SEQ]!;
      }
      const fCloseTs = s[from + P.CLOSE_TS]!;
      const iCloseTs = s[into + P.CLOSE_TS]!;
      if (fCloseTs > iCloseTs || (fCloseTs === iCloseTs && s[from + P.CLOSE_SEQ]! > s[into + P.CLOSE_SEQ]!)) {
        s[into + P.CLOSE] = s[from + P.CLOSE]!;
        s[into + P.CLOSE_TS] = fCloseTs;
        s[into + P.CLOSE_SEQ] = s[from + P.CLOSE_SEQ]!;
      }
      if (s[from + P.HIGH]! > s[into + P.HIGH]!) s[into + P.HIGH] = s[from + P.HIGH]!;
      if (s[from + P.LOW]! < s[into + P.LOW]!) s[into + P.LOW] = s[from + P.LOW]!;
    }
    s[into + P.TRADES]! += s[from + P.TRADES]!;
    mergePackedSum(s, into + P.VOL, from + P.VOL);
    mergePackedSum(s, into + P.NOT, from + P.NOT);
    mergePackedSum(s, into + P.BUY, from + P.BUY);
    mergePackedSum(s, into + P.SELL, from + P.SELL);
  }

  result(s: Float64Array, b: number, w: WindowRef): Candle {
    const volume = s[b + P.VOL]! + s[b + P.VOL + 1]!;
    const close = s[b + P.CLOSE]!;
    return {
      symbol: w.key,
      timeframe: w.timeframe,
      start: w.start,
      end: w.end,
      open: s[b + P.OPEN]!,
      high: s[b + P.HIGH]!,
      low: s[b + P.LOW]!,
      close,
      volume,
      trades: s[b + P.TRADES]!,
      vwap: volume > 0 ? (s[b + P.NOT]! + s[b + P.NOT + 1]!) / volume : close,
      buyVolume: s[b + P.BUY]! + s[b + P.BUY + 1]!,
      sellVolume: s[b + P.SELL]! + s[b + P.SELL + 1]!,
      final: w.final,
      rev: w.rev,
    };
  }
}

/** OHLCV as a mergeable aggregator (see `ohlcv()`): the object view of PackedOhlcv. */
export class OhlcvAggregator extends PackedView<OhlcvInput, Candle> {
  readonly name = 'ohlcv';

  constructor() {
    super(new PackedOhlcv());
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
export function ohlcv(): Aggregator<OhlcvInput, Float64Array, Candle> {
  return new OhlcvAggregator();
}
