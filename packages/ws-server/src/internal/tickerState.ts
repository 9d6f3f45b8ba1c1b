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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The rule, applied in place (the hot path: no allocation per trade):
 * returns false when the trade belongs to an earlier UTC day and leaves `s`
 * as it was. nextTickerState is the same rule as a pure function.
 */
function advance(s: Mutable<TickerState>, t: Trade): boolean {
  const day = Math.floor(t.ts / DAY);
  if (day < s.day) return false;
  if (day > s.day) {
    s.day = day;
    s.open = t.price;
    s.last = t.price;
    s.ts = t.ts;
    s.volume = t.size;
    return true;
  }
  s.volume += t.size;
  if (t.ts >= s.ts) {
    s.last = t.price;
    s.ts = t.ts;
  }
  return true;
}

function first(t: Trade): Mutable<TickerState> {
  return { symbol: t.symbol, day: Math.floor(t.ts / DAY), open: t.price, last: t.price, ts: t.ts, volume: t.size };
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
  if (prev === undefined) return first(t);
  const next = { ...prev };
  return advance(next, t) ? next : prev;
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
  private readonly states = new Map<string, Mutable<TickerState> & { dirty: boolean }>();
  /** States whose row goes to the ticker channel at the next drain. */
  private dirty: (TickerState & { dirty: boolean })[] = [];

  /** @param maxSymbols states kept; past twice this many they are all dropped (a flood of bogus symbols cannot grow memory). */
  constructor(private readonly maxSymbols: number) {}

  /** Applies a trade. */
  add(t: Trade): void {
    let s = this.states.get(t.symbol);
    if (s === undefined) {
      if (this.states.size >= this.maxSymbols * 2) this.states.clear();
      // One literal shape for every state (the hot path stays monomorphic).
      s = { symbol: t.symbol, dirty: false, day: Math.floor(t.ts / DAY), open: t.price, last: t.price, ts: t.ts, volume: t.size };
      this.states.set(t.symbol, s);
    } else if (!advance(s, t)) {
      return;
    }
    if (!s.dirty) {
      s.dirty = true;
      this.dirty.push(s);
    }
  }

  /** Writes the rows of the symbols that changed into the ticker channel; returns whether the channel changed. */
  drainInto(ticker: ChannelState<unknown>): boolean {
    if (this.dirty.length === 0) return false;
    const states = this.dirty;
    this.dirty = [];
    let changed = false;
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      s.dirty = false;
      if (ticker.upsert(tickerRow(s) as unknown as Row)) changed = true;
    }
    return changed;
  }
}
