import { describe, expect, it } from 'vitest';
import { ChannelStore } from './channelStore.js';

describe('ChannelStore', () => {
  it('applies deltas in sequence, trims to the snapshot limit by smallest key, and reports changed rows once per batch', () => {
    const s = new ChannelStore('candles');
    expect(s.applyDelta({ type: 'delta', channel: 'c', seq: 1, prev: 0, rows: [] })).toBe('waiting');
    s.applySnapshot({ type: 'snapshot', channel: 'c', seq: 3, rows: [{ start: 0, close: 1 }, { start: 60, close: 2 }], limit: 2 });
    expect(s.takeChanges()).toEqual({ reset: true, changed: expect.any(Array) });
    expect(s.applyDelta({ type: 'delta', channel: 'c', seq: 3, prev: 2, rows: [] })).toBe('stale');
    expect(s.applyDelta({ type: 'delta', channel: 'c', seq: 4, prev: 3, rows: [{ start: 60, close: 3 }, { start: 120, close: 4 }] })).toBe('applied');
    expect(s.rows()).toEqual([{ start: 60, close: 3 }, { start: 120, close: 4 }]);
    expect(s.takeChanges()).toEqual({ reset: false, changed: [{ start: 60, close: 3 }, { start: 120, close: 4 }] });
    expect(s.takeChanges()).toBeUndefined();
  });

  it('stops at a gap and waits for a snapshot', () => {
    const s = new ChannelStore('trades');
    s.applySnapshot({ type: 'snapshot', channel: 't', seq: 1, rows: [{ p: 1 }], limit: 2 });
    expect(s.applyDelta({ type: 'delta', channel: 't', seq: 3, prev: 2, rows: [{ p: 3 }] })).toBe('gap');
    expect(s.waiting).toBe(true);
    expect(s.applyDelta({ type: 'delta', channel: 't', seq: 4, prev: 3, rows: [{ p: 4 }] })).toBe('waiting');
    s.applySnapshot({ type: 'snapshot', channel: 't', seq: 4, rows: [{ p: 3 }, { p: 4 }], limit: 2 });
    expect(s.applyDelta({ type: 'delta', channel: 't', seq: 5, prev: 4, rows: [{ p: 5 }] })).toBe('applied');
    expect(s.rows()).toEqual([{ p: 4 }, { p: 5 }]);
  });
});
