import type { Trade } from '@tickflow/core';
import type { TickerRow } from '../protocol.js';
import type { ChannelState, Row } from './channelState.js';

const DAY = 86_400_000;

/** The UTC day of one symbol's ticker: first and last price, day volume. */
export interface TickerState {
  readonly symbol: string;
  /** UTC day number (epoch ms / 86 400 000, floored). */
  readonly day: number;
  readonly open: number;
  readonly last: number;
  /** Event time of the last trade (the latest seen). */
  readonly ts: number;
  readonly volume: number;
}

/**
 * The ticker state after one trade (a pure function): a trade of a later UTC
 * day starts a new day at its price, one of an earlier day leaves the state
 * as it is (returns `prev`), and within the day the volume grows and `last`
 * follows the latest event time (an out-of-order older trade adds volume only).
 *
 * @example
 * ```ts
 * let s = nextTickerState(undefined, { symbol: 'AAPL', ts: 1_000, price: 150, size: 10 });
 * s = nextTickerState(s, { symbol: 'AAPL', ts: 2_000, price: 151, size: 5 }); // last 151, volume 15
 * ```
 */
export function nextTickerState(prev: TickerState | undefined, t: Trade): TickerState {
  const day = Math.floor(t.ts / DAY);
  if (prev === undefined || day > prev.day) return { symbol: t.symbol, day, open: t.price, last: t.price, ts: t.ts, volume: t.size };
  if (day < prev.day) return prev;
  const later = t.ts >= prev.ts;
  return { symbol: prev.symbol, day, open: prev.open, last: later ? t.price : prev.last, ts: later ? t.ts : prev.ts, volume: prev.volume + t.size };
}

/**
 * The `ticker` channel's row of a state (change since the day's first trade).
 *
 * @example
 * ```ts
 * tickerRow({ symbol: 'AAPL', day: 0, open: 100, last: 101, ts: 5, volume: 7 }).changePct; // 1
 * ```
 */
export function tickerRow(s: TickerState): TickerRow {
  const change = s.last - s.open;
  return { symbol: s.symbol, last: s.last, open: s.open, change, changePct: s.open !== 0 ? (change / s.open) * 100 : 0, volume: s.volume, ts: s.ts };
}

/**
 * The ticker states of every symbol, and which changed since the last
 * `drainInto`: one upsert per symbol per flush, not per trade.
 */
export class TickerStates {
  private readonly states = new Map<string, TickerState>();
  private dirty = new Set<string>();

  /** @param maxSymbols states kept; past twice this many they are all dropped (a flood of bogus symbols cannot grow memory). */
  constructor(private readonly maxSymbols: number) {}

  /** Applies a trade. */
  add(t: Trade): void {
    const prev = this.states.get(t.symbol);
    if (prev === undefined && this.states.size >= this.maxSymbols * 2) this.states.clear();
    const next = nextTickerState(prev, t);
    if (next === prev) return;
    this.states.set(t.symbol, next);
    this.dirty.add(t.symbol);
  }

  /** Writes the rows of the symbols that changed into the ticker channel; returns whether the channel changed. */
  drainInto(ticker: ChannelState<unknown>): boolean {
    if (this.dirty.size === 0) return false;
    const symbols = this.dirty;
    this.dirty = new Set();
    let changed = false;
    for (const symbol of symbols) {
      const s = this.states.get(symbol);
      if (s !== undefined && ticker.upsert(tickerRow(s) as unknown as Row)) changed = true;
    }
    return changed;
  }
}
