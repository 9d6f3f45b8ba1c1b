// The fault tests' oracle: the exact expected row of every window (candles,
// volume profiles, tick counts) recomputed from the generated trades
// (generateTrades.ts) and where Kafka put them, with BigInt rationals of the
// binary64 inputs, rounded once (exactArithmetic.ts). The stores are read back
// by readClickHouse.ts and readPostgres.ts and compared in comparison.ts.
//
// Nothing here uses tickflow's own aggregation code: the oracle is written
// from the documented semantics (see serverFaults.test.ts's header), so a
// bug shared by the pipeline and its helpers cannot hide here.
import { roundUnits, toUnits } from './exactArithmetic.js';
import type { GenTrade, Placement, TradeSet } from './generateTrades.js';

export const TIMEFRAMES = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type Timeframe = keyof typeof TIMEFRAMES;
export const CANDLE_TFS: readonly Timeframe[] = ['1m', '5m', '15m', '1h', '1d'];
export const PROFILE_TFS: readonly Timeframe[] = ['1m', '5m'];
export const TICK_TFS: readonly Timeframe[] = ['1m'];
/** Volume-profile level step in cents (0.05, the server's default `profileStep`). */
export const PROFILE_STEP_CENTS = 5;
export const OUT_OF_ORDERNESS_MS = 1_000;
export const GRACE_MS = 5_000;

/** One expected row, with the store-independent field names. */
export interface ExpectedRow {
  readonly kind: 'candles' | 'profiles' | 'ticks';
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly start: number;
  readonly end: number;
  /** Whether the window must be final once every partition went quiet. */
  readonly closed: boolean;
  readonly fields: Record<string, number | readonly number[]>;
}

/** What the oracle expects, keyed `kind|symbol|timeframe|start`. */
export interface Expected {
  readonly rows: ReadonlyMap<string, ExpectedRow>;
  readonly maxTs: number;
  /** Sanity figures of the data set. */
  readonly stats: { readonly late: number; readonly lateGlobal: number; readonly corrections: number; readonly ties: number; readonly maxDisorderMs: number };
}

export function rowKey(kind: string, symbol: string, timeframe: string, start: number): string {
  return `${kind}|${symbol}|${timeframe}|${start}`;
}

interface Acc {
  n: number;
  open: number;
  openTs: number;
  openOff: number;
  close: number;
  closeTs: number;
  closeOff: number;
  high: number;
  low: number;
  vol: bigint;
  notional: bigint;
  buy: bigint;
  sell: bigint;
  buys: number;
  sells: number;
  levels: Map<number, { vol: bigint; buy: bigint; sell: bigint }>;
}

function levelPrice(idx: number): number {
  const c = idx * PROFILE_STEP_CENTS;
  return Number(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`);
}

/**
 * The exact expected rows: candles (1m…1d), volume profiles (1m, 5m), tick
 * counts (1m) of every (symbol, timeframe, start) holding a trade.
 *
 * - open/close: price of the earliest/latest ts, ties by Kafka offset;
 * - volume, buy/sell volume, notional: exact sums of the binary64 sizes and
 *   of the once-rounded products price*size, rounded once; vwap = notional /
 *   volume (one division; close when volume is 0);
 * - profile levels: index floor(cents / 5) of the trade's decimal price (the
 *   documented intent: a price on a level edge belongs to that level), level
 *   price = index × 0.05 as a decimal; level volumes exact sums rounded once;
 *   POC = most volume, ties the lowest price; value area grown from the POC
 *   toward the heavier neighbour (both on a tie) while it holds less than
 *   70 % of the volume (compared exactly), its volume the exact sum of its
 *   levels rounded once;
 * - closed = end ≤ max ts of all trades − out-of-orderness.
 */
export function oracle(set: TradeSet, placement: ReadonlyMap<string, Placement>): Expected {
  const accs = new Map<string, Acc>();
  let maxTs = Number.NEGATIVE_INFINITY;
  const maxInPartition = new Map<number, number>();
  let late = 0;
  let lateGlobal = 0;
  let corrections = 0;
  let ties = 0;
  let maxDisorderMs = 0;
  // Lateness is judged in each partition's offset order.
  const ordered = [...set.trades].sort((a, b) => {
    const pa = placement.get(a.id)!, pb = placement.get(b.id)!;
    return pa.partition - pb.partition || pa.offset - pb.offset;
  });
  for (const t of ordered) {
    const pl = placement.get(t.id);
    if (pl === undefined) throw new Error(`oracle: trade ${t.id} was not found on the topic`);
    const seen = maxInPartition.get(pl.partition) ?? Number.NEGATIVE_INFINITY;
    const end1m = (Math.floor(t.ts / 60_000) + 1) * 60_000;
    if (seen - OUT_OF_ORDERNESS_MS >= end1m + GRACE_MS) late++;
    if (seen - OUT_OF_ORDERNESS_MS >= end1m) corrections++;
    if (seen - t.ts > maxDisorderMs) maxDisorderMs = seen - t.ts;
    if (t.ts > seen) maxInPartition.set(pl.partition, t.ts);
  }
  let globalMax = Number.NEGATIVE_INFINITY;
  for (const t of set.trades) {
    const end1m = (Math.floor(t.ts / 60_000) + 1) * 60_000;
    if (globalMax - OUT_OF_ORDERNESS_MS >= end1m + GRACE_MS) lateGlobal++;
    if (t.ts > globalMax) globalMax = t.ts;
  }
  const add = (kind: string, tf: Timeframe, t: GenTrade, off: number, sizeU: bigint, notU: bigint, level: number): void => {
    const size = TIMEFRAMES[tf];
    const start = Math.floor(t.ts / size) * size;
    const key = rowKey(kind, t.symbol, tf, start);
    let a = accs.get(key);
    if (a === undefined) {
      a = { n: 0, open: t.price, openTs: t.ts, openOff: off, close: t.price, closeTs: t.ts, closeOff: off, high: t.price, low: t.price, vol: 0n, notional: 0n, buy: 0n, sell: 0n, buys: 0, sells: 0, levels: new Map() };
      accs.set(key, a);
    }
    a.n++;
    if (t.ts < a.openTs || (t.ts === a.openTs && off < a.openOff)) {
      a.open = t.price;
      a.openTs = t.ts;
      a.openOff = off;
    } else if (t.ts === a.openTs && off !== a.openOff) ties++;
    if (t.ts > a.closeTs || (t.ts === a.closeTs && off > a.closeOff)) {
      a.close = t.price;
      a.closeTs = t.ts;
      a.closeOff = off;
    }
    if (t.price > a.high) a.high = t.price;
    if (t.price < a.low) a.low = t.price;
    a.vol += sizeU;
    a.notional += notU;
    if (t.side === 'buy') {
      a.buy += sizeU;
      a.buys++;
    } else {
      a.sell += sizeU;
      a.sells++;
    }
    if (kind === 'profiles') {
      let l = a.levels.get(level);
      if (l === undefined) {
        l = { vol: 0n, buy: 0n, sell: 0n };
        a.levels.set(level, l);
      }
      l.vol += sizeU;
      if (t.side === 'buy') l.buy += sizeU;
      else l.sell += sizeU;
    }
  };
  for (const t of set.trades) {
    const off = placement.get(t.id)!.offset;
    if (t.ts > maxTs) maxTs = t.ts;
    const sizeU = toUnits(t.size);
    const notU = toUnits(t.price * t.size);
    const level = Math.floor(Math.round(t.price * 100) / PROFILE_STEP_CENTS);
    for (const tf of CANDLE_TFS) add('candles', tf, t, off, sizeU, notU, level);
    for (const tf of PROFILE_TFS) add('profiles', tf, t, off, sizeU, notU, level);
    for (const tf of TICK_TFS) add('ticks', tf, t, off, sizeU, notU, level);
  }
  const rows = new Map<string, ExpectedRow>();
  const closedBefore = maxTs - OUT_OF_ORDERNESS_MS;
  for (const [key, a] of accs) {
    const [kind, symbol, tf, startText] = key.split('|') as ['candles' | 'profiles' | 'ticks', string, Timeframe, string];
    const start = Number(startText);
    const end = start + TIMEFRAMES[tf];
    let fields: ExpectedRow['fields'];
    if (kind === 'candles') {
      const volume = roundUnits(a.vol);
      const notional = roundUnits(a.notional);
      fields = { open: a.open, high: a.high, low: a.low, close: a.close, volume, trades: a.n, vwap: volume > 0 ? notional / volume : a.close, buyVolume: roundUnits(a.buy), sellVolume: roundUnits(a.sell) };
    } else if (kind === 'ticks') {
      fields = { trades: a.n, buyTrades: a.buys, sellTrades: a.sells };
    } else {
      const idxs = [...a.levels.keys()].sort((x, y) => x - y);
      const lv = idxs.map((i) => a.levels.get(i)!);
      const vols = lv.map((l) => roundUnits(l.vol));
      const volume = roundUnits(a.vol);
      let poc = 0;
      for (let i = 1; i < vols.length; i++) if (vols[i]! > vols[poc]!) poc = i;
      // Grow while area < 0.7 × volume, exactly: 10 × area < 7 × volume.
      const volU = toUnits(volume);
      let lo = poc, hi = poc;
      let area = toUnits(vols[poc]!);
      while (area * 10n < volU * 7n && (lo > 0 || hi < vols.length - 1)) {
        const up = hi + 1 < vols.length ? vols[hi + 1]! : -1;
        const down = lo > 0 ? vols[lo - 1]! : -1;
        if (up > down) {
          hi++;
          area += toUnits(up);
        } else if (down > up) {
          lo--;
          area += toUnits(down);
        } else {
          hi++;
          lo--;
          area += toUnits(up) + toUnits(down);
        }
      }
      const prices = idxs.map(levelPrice);
      fields = {
        bucket: PROFILE_STEP_CENTS / 100,
        levelPrice: prices,
        levelVolume: vols,
        levelBuyVolume: lv.map((l) => roundUnits(l.buy)),
        levelSellVolume: lv.map((l) => roundUnits(l.sell)),
        volume,
        poc: prices[poc]!,
        valueAreaLow: prices[lo]!,
        valueAreaHigh: prices[hi]!,
        valueAreaVolume: roundUnits(area),
      };
    }
    rows.set(key, { kind, symbol, timeframe: tf, start, end, closed: end <= closedBefore, fields });
  }
  return { rows, maxTs, stats: { late, lateGlobal, corrections, ties, maxDisorderMs } };
}

/** Windows whose end falls where "final" would depend on the grace (closed by the watermark but not by watermark − grace): the generator avoids them. */
export function ambiguousWindowEnds(maxTs: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil((maxTs - OUT_OF_ORDERNESS_MS - GRACE_MS + 1) / 60_000) * 60_000; e <= maxTs - OUT_OF_ORDERNESS_MS; e += 60_000) out.push(e);
  return out;
}
