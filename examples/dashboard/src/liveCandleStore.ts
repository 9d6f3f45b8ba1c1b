import type { Candle } from '@tickflow/core';

/**
 * The latest candles per symbol and timeframe, bounded: the embedded
 * stand-in for storage until the reference server grows real stores. An
 * update replaces the bar with the same start (corrections and live updates),
 * a newer bar is appended, the oldest dropped past `limit`.
 */
export class LiveCandleStore {
  private readonly series = new Map<string, Candle[]>();

  constructor(private readonly limit = 500) {}

  /** Inserts or replaces a candle; returns false for an older revision than the one held. */
  upsert(c: Candle): boolean {
    const id = `${c.symbol}|${c.timeframe}`;
    let list = this.series.get(id);
    if (list === undefined) {
      list = [];
      this.series.set(id, list);
    }
    for (let i = list.length - 1; i >= 0 && i >= list.length - 8; i--) {
      const held = list[i]!;
      if (held.start === c.start) {
        if (held.rev > c.rev) return false;
        list[i] = c;
        return true;
      }
      if (held.start < c.start) break;
    }
    list.push(c);
    list.sort((a, b) => a.start - b.start);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    return true;
  }

  /** Candles of one symbol and timeframe, oldest first, within [from, to). */
  candles(symbol: string, timeframe: string, from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): Candle[] {
    return (this.series.get(`${symbol}|${timeframe}`) ?? []).filter((c) => c.start >= from && c.start < to);
  }

  /** The latest candle of every symbol for a timeframe. */
  latest(timeframe: string): Candle[] {
    const out: Candle[] = [];
    for (const [id, list] of this.series) if (id.endsWith(`|${timeframe}`) && list.length > 0) out.push(list[list.length - 1]!);
    return out.sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }
}
