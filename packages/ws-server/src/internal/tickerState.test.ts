import { describe, expect, it } from 'vitest';
import type { Trade } from '@tickflow/core';
import { ChannelState } from './channelState.js';
import { TickerStates, nextTickerState, tickerRow } from './tickerState.js';
import type { TickerState } from './tickerState.js';

const DAY = 86_400_000;
const trade = (ts: number, price: number, size = 1): Trade => ({ symbol: 'AAPL', ts, price, size });
const fold = (trades: readonly Trade[]): TickerState | undefined => trades.reduce<TickerState | undefined>((s, t) => nextTickerState(s, t), undefined);

describe('nextTickerState', () => {
  it('starts a day at the first trade', () => {
    expect(nextTickerState(undefined, trade(5 * DAY + 10, 100, 3))).toEqual({ symbol: 'AAPL', day: 5, open: 100, last: 100, ts: 5 * DAY + 10, volume: 3 });
  });

  it('follows the latest event time for last, sums the volume of every trade of the day', () => {
    const s = fold([trade(DAY + 1, 100, 1), trade(DAY + 3, 103, 2), trade(DAY + 2, 99, 4)])!;
    expect(s).toMatchObject({ open: 100, last: 103, ts: DAY + 3, volume: 7 });
    expect(tickerRow(s)).toEqual({ symbol: 'AAPL', last: 103, open: 100, change: 3, changePct: 3, volume: 7, ts: DAY + 3 });
  });

  it('takes a trade exactly at midnight UTC as the first of the new day', () => {
    const s = fold([trade(2 * DAY - 1, 100, 5), trade(2 * DAY, 90, 1)])!;
    expect(s).toMatchObject({ day: 2, open: 90, last: 90, volume: 1 });
  });

  it('leaves the state as it is for a trade of an earlier day (same object: nothing to send)', () => {
    const today = fold([trade(3 * DAY + 5, 100)])!;
    expect(nextTickerState(today, trade(3 * DAY - 5, 50, 9))).toBe(today);
  });

  it('does not mutate the previous state, and reports 0 % change on a zero open', () => {
    const a = nextTickerState(undefined, trade(DAY, 0))!;
    const b = nextTickerState(a, trade(DAY + 1, 2))!;
    expect(a).toMatchObject({ last: 0, volume: 1 });
    expect(tickerRow(b).changePct).toBe(0);
  });
});

describe('TickerStates', () => {
  const ticker = () => new ChannelState<never>({ name: 'ticker', kind: 'ticker', symbol: undefined, timeframe: undefined }, 100);

  it('writes one row per symbol that changed since the last drain', () => {
    const states = new TickerStates(100);
    const ch = ticker();
    states.add(trade(DAY, 100));
    states.add(trade(DAY + 1, 101));
    states.add({ symbol: 'MSFT', ts: DAY, price: 300, size: 2 });
    expect(states.drainInto(ch)).toBe(true);
    expect(ch.get('AAPL')).toMatchObject({ last: 101, volume: 2 });
    expect(ch.get('MSFT')).toMatchObject({ last: 300, volume: 2 });
    expect(states.drainInto(ch)).toBe(false);
    states.add(trade(DAY - 1, 1)); // an earlier day: nothing changes
    expect(states.drainInto(ch)).toBe(false);
  });
});
