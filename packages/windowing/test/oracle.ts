// Brute-force oracle for the window operators: recomputes every emission from
// scratch, by definition, with exact arithmetic. Slow on purpose; shares no
// code with the operators.
import type { Candle, Side, TickCount, Trade, VolumeProfile } from '@tickflow/core';

/** Exact sum of doubles, correctly rounded once (BigInt over a common power-of-two scale). */
export function exactSum(xs: readonly number[]): number {
  let k = 0;
  for (const x of xs) {
    while (!Number.isInteger(x * 2 ** k)) k++;
  }
  let total = 0n;
  for (const x of xs) total += BigInt(x * 2 ** k);
  return Number(total) / 2 ** k;
}

export interface OracleWindow {
  key: string;
  timeframe: string;
  start: number;
  end: number;
}

/** What an aggregation means, by definition, over the events of a window in arrival order. */
export type Definition<Out> = (events: readonly { t: Trade; seq: number }[], w: OracleWindow & { final: boolean; rev: number }) => Out;

export const candleDefinition: Definition<Candle> = (evs, w) => {
  let first = evs[0]!;
  let last = evs[0]!;
  let high = -Infinity;
  let low = Infinity;
  for (const e of evs) {
    if (e.t.ts < first.t.ts || (e.t.ts === first.t.ts && e.seq < first.seq)) first = e;
    if (e.t.ts > last.t.ts || (e.t.ts === last.t.ts && e.seq > last.seq)) last = e;
    if (e.t.price > high) high = e.t.price;
    if (e.t.price < low) low = e.t.price;
  }
  const volume = exactSum(evs.map((e) => e.t.size));
  const notional = exactSum(evs.map((e) => e.t.price * e.t.size));
  return {
    symbol: w.key,
    timeframe: w.timeframe,
    start: w.start,
    end: w.end,
    open: first.t.price,
    high,
    low,
    close: last.t.price,
    volume,
    trades: evs.length,
    vwap: volume > 0 ? notional / volume : last.t.price,
    buyVolume: exactSum(evs.filter((e) => e.t.side === 'buy').map((e) => e.t.size)),
    sellVolume: exactSum(evs.filter((e) => e.t.side === 'sell').map((e) => e.t.size)),
    final: w.final,
    rev: w.rev,
  };
};

export const tickCountDefinition: Definition<TickCount> = (evs, w) => ({
  symbol: w.key,
  timeframe: w.timeframe,
  start: w.start,
  end: w.end,
  trades: evs.length,
  buyTrades: evs.filter((e) => e.t.side === 'buy').length,
  sellTrades: evs.filter((e) => e.t.side === 'sell').length,
  final: w.final,
  rev: w.rev,
});

/** Volume profile by definition for prices on a cent grid and a step of `stepCents` cents. */
export function profileDefinition(stepCents: number, valueArea = 0.7): Definition<VolumeProfile> {
  return (evs, w) => {
    const byLevel = new Map<number, { all: number[]; buy: number[]; sell: number[] }>();
    for (const { t } of evs) {
      const cents = Math.round(t.price * 100);
      const level = Math.floor(cents / stepCents);
      const l = byLevel.get(level) ?? { all: [], buy: [], sell: [] };
      l.all.push(t.size);
      if (t.side === 'buy') l.buy.push(t.size);
      if (t.side === 'sell') l.sell.push(t.size);
      byLevel.set(level, l);
    }
    const levels = [...byLevel.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([level, l]) => ({
        price: (level * stepCents) / 100,
        volume: exactSum(l.all),
        buyVolume: exactSum(l.buy),
        sellVolume: exactSum(l.sell),
      }));
    const volume = exactSum(evs.map((e) => e.t.size));
    let poc = 0;
    for (let i = 1; i < levels.length; i++) if (levels[i]!.volume > levels[poc]!.volume) poc = i;
    // Value area: grow from the POC toward the heavier neighbour, both on a tie.
    let lo = poc;
    let hi = poc;
    let inArea = levels[poc]!.volume;
    while (inArea < volume * valueArea && (lo > 0 || hi < levels.length - 1)) {
      const up = hi + 1 < levels.length ? levels[hi + 1]!.volume : -1;
      const down = lo > 0 ? levels[lo - 1]!.volume : -1;
      if (up > down) inArea += levels[++hi]!.volume;
      else if (down > up) inArea += levels[--lo]!.volume;
      else {
        hi++;
        lo--;
        inArea += up + down;
      }
    }
    return {
      symbol: w.key,
      timeframe: w.timeframe,
      start: w.start,
      end: w.end,
      bucket: stepCents / 100,
      levels,
      volume,
      poc: levels[poc]!.price,
      valueAreaLow: levels[lo]!.price,
      valueAreaHigh: levels[hi]!.price,
      valueAreaVolume: inArea,
      final: w.final,
      rev: w.rev,
    };
  };
}

export interface OracleOptions<Out> {
  size: number;
  hop?: number;
  label: string;
  outOfOrderness: number;
  grace: number;
  definition: Definition<Out>;
  /** Equality of results ignoring final/rev (suppression of unchanged corrections). */
  same: (a: Out, b: Out) => boolean;
}

export interface OracleResult<Out> {
  /** Every emission per window id (`key|start`), in order. */
  emissions: Map<string, Out[]>;
  /** Indexes (arrival order) of events sent to the late output. */
  late: number[];
}

/**
 * Simulates final-mode windows event by event, by definition: the watermark
 * after event i is max(ts[0..i]) − outOfOrderness; event i joins every window
 * containing it whose end + grace is beyond the watermark before it; a window
 * fires once the watermark reaches its end (or at end of input) with the
 * events it holds, and re-emits for each later event; the version `rev` is
 * 2 × the window's events + 1 (final).
 */
export function simulateFinal<Out>(trades: readonly Trade[], o: OracleOptions<Out>): OracleResult<Out> {
  const hop = o.hop ?? o.size;
  type W = { key: string; start: number; end: number; events: { t: Trade; seq: number }[]; fired: boolean; last?: Out; rev: number };
  const windows = new Map<string, W>();
  const order: W[] = [];
  const emissions = new Map<string, Out[]>();
  const late: number[] = [];
  let maxTs = -Infinity;
  let wm = -Infinity;
  const emit = (w: W, force: boolean): void => {
    // The version: 2 × events + 1 once final (every emission here is final).
    const rev = 2 * w.events.length + 1;
    const out = o.definition(w.events, { key: w.key, timeframe: o.label, start: w.start, end: w.end, final: true, rev });
    if (!force && w.last !== undefined && w.rev === rev && o.same(w.last, out)) return;
    w.rev = rev;
    w.last = out;
    const id = `${w.key}|${w.start}`;
    const list = emissions.get(id) ?? [];
    list.push(out);
    emissions.set(id, list);
  };
  trades.forEach((t, i) => {
    let accepted = false;
    const lastStart = Math.floor(t.ts / hop) * hop;
    for (let s = lastStart; s > t.ts - o.size; s -= hop) {
      const end = s + o.size;
      if (wm >= end + o.grace) continue;
      const id = `${t.symbol}|${s}`;
      let w = windows.get(id);
      if (w === undefined) {
        w = { key: t.symbol, start: s, end, events: [], fired: false, rev: 0 };
        windows.set(id, w);
        order.push(w);
      }
      w.events.push({ t, seq: i });
      accepted = true;
      if (w.fired) emit(w, false);
      else if (wm >= end) {
        w.fired = true;
        emit(w, true);
      }
    }
    if (!accepted) late.push(i);
    if (t.ts > maxTs) maxTs = t.ts;
    wm = Math.max(wm, maxTs - o.outOfOrderness);
    for (const w of order) {
      if (!w.fired && wm >= w.end) {
        w.fired = true;
        emit(w, true);
      }
    }
  });
  for (const w of order) {
    if (!w.fired) {
      w.fired = true;
      emit(w, true);
    }
  }
  return { emissions, late };
}

/** Groups operator output by window id, keeping order. */
export function byWindow<Out extends { symbol: string; start: number }>(outs: readonly Out[]): Map<string, Out[]> {
  const m = new Map<string, Out[]>();
  for (const o of outs) {
    const id = `${o.symbol}|${o.start}`;
    const list = m.get(id) ?? [];
    list.push(o);
    m.set(id, list);
  }
  return m;
}

/** Sorts a map's entries for a stable comparison. */
export function sortedEntries<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export type { Side };
