import { describe, expect, it } from 'vitest';
import type { SnapshotMessage } from '../protocol.js';
import { ChannelState } from './channelState.js';

const trades = (size: number, maxAge: number) => new ChannelState<never>({ name: 'trades:AAPL', kind: 'trades', symbol: 'AAPL', timeframe: undefined }, 50, { size, maxAge });
/** Trade i (the rows a trades channel holds; it keeps them as columns, so they come back as equal trades). */
const t = (i: number) => ({ symbol: 'AAPL', ts: 1_700_000_000_000 + i, price: 100 + i / 100, size: i, side: i % 2 === 0 ? 'buy' : 'sell' });
const recovered = (ch: ChannelState<never>, offset: number, now: number) => ch.recover({ epoch: ch.epoch, offset }, now)?.msg as SnapshotMessage | undefined;

describe('ChannelState recovery history', () => {
  it('numbers items and gives back exactly those after an offset while the history holds them, across trims', () => {
    const ch = trades(100, 1_000_000);
    // 5 000 items, 7 per append time: the history is trimmed many times.
    for (let i = 1; i <= 5_000; i++) ch.append(t(i), Math.floor(i / 7));
    expect(ch.offset).toBe(5_000);
    for (const from of [4_900, 4_950, 4_999, 5_000]) {
      const msg = recovered(ch, from, 5_000)!;
      expect(msg.recovered).toBe(true);
      expect(msg.rows).toEqual(Array.from({ length: 5_000 - from }, (_, i) => t(from + 1 + i)));
      expect(msg.offset).toBe(5_000);
    }
    expect(recovered(ch, 4_899, 5_000)).toBeUndefined(); // 101 missed > size 100
    expect(ch.recover({ epoch: 'another', offset: 4_990 }, 5_000)).toBeUndefined();
    expect(recovered(ch, 5_001, 5_000)).toBeUndefined();
  });

  it('refuses a gap whose oldest missed item is older than maxAge, by the time that item was appended', () => {
    const ch = trades(1_000, 100);
    for (let i = 1; i <= 30; i++) ch.append(t(i), i * 10); // item i appended at 10·i ms
    // Items after offset 20 start with item 21, appended at 210: at now = 310 it is 100 ms old (kept), at 311 too old.
    expect(recovered(ch, 20, 310)?.rows).toHaveLength(10);
    expect(recovered(ch, 20, 311)).toBeUndefined();
    expect(recovered(ch, 30, 100_000)?.rows).toEqual([]); // nothing missed: always recoverable
  });

  it('snapshots the newest `limit` trades, field for field, while it keeps more for recovery', () => {
    const ch = trades(100, 1_000_000);
    for (let i = 1; i <= 230; i++) ch.append(t(i), i);
    ch.takeDelta();
    const snap = ch.snapshot().msg as SnapshotMessage;
    expect(snap.rows).toEqual(Array.from({ length: 50 }, (_, i) => t(181 + i)));
    expect(snap.offset).toBe(230);
    expect(ch.size).toBe(50);
  });

  it('a channel created again has another epoch', () => {
    expect(trades(10, 10).epoch).not.toBe(trades(10, 10).epoch);
  });
});
