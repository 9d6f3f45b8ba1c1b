import { describe, expect, it } from 'vitest';
import { ConflatedDelta } from './conflatedDelta.js';

const delta = (seq: number, rows: Record<string, unknown>[]) => ({ type: 'delta' as const, channel: 'c', seq, prev: seq - 1, rows });

describe('ConflatedDelta', () => {
  it('merges pending updates of one candle bar by OHLC rules into one delta spanning their sequence numbers', () => {
    const c = new ConflatedDelta('candles', 500, delta(5, [{ start: 0, open: 10, high: 12, low: 9, close: 11, volume: 5, rev: 1 }]));
    c.add(delta(6, [{ start: 0, high: 13, close: 13, volume: 7, rev: 2 }]));
    c.add(delta(7, [{ start: 0, low: 8, close: 8.5, volume: 9, rev: 3 }, { start: 60_000, open: 8.5, high: 8.5, low: 8.5, close: 8.5, rev: 1 }]));
    expect(c.toMessage('c')).toEqual({
      type: 'delta',
      channel: 'c',
      prev: 4,
      seq: 7,
      rows: [
        { start: 0, open: 10, high: 13, low: 8, close: 8.5, volume: 9, rev: 3 },
        { start: 60_000, open: 8.5, high: 8.5, low: 8.5, close: 8.5, rev: 1 },
      ],
    });
  });

  it('keeps only the newest items of a list channel, as many as a client keeps', () => {
    const c = new ConflatedDelta('trades', 3, delta(1, [{ p: 1 }, { p: 2 }]));
    c.add(delta(2, [{ p: 3 }, { p: 4 }, { p: 5 }]));
    expect(c.toMessage('t').rows).toEqual([{ p: 3 }, { p: 4 }, { p: 5 }]);
  });

  it('turns into a snapshot request when the merged rows outgrow the channel bound', () => {
    const c = new ConflatedDelta('ticker', 2, delta(1, []));
    c.add(delta(2, Array.from({ length: 40 }, (_, i) => ({ symbol: `S${i}`, last: i }))));
    expect(c.snapshot).toBe(true);
    expect(c.rows).toBe(0);
  });
});
