import { describe, expect, it } from 'vitest';
import { TradeKeyer } from './tradeKey.js';

const t = { symbol: 'AAPL', ts: 1_000, price: 150.25, size: 10, side: 'buy' as const };

describe('TradeKeyer', () => {
  it('uses the exchange trade id when there is one', () => {
    expect(new TradeKeyer().key({ ...t, id: 'X-17' })).toBe('X-17');
  });

  it('keeps two identical prints apart by their occurrence number', () => {
    const keyer = new TradeKeyer();
    expect([keyer.key(t), keyer.key(t), keyer.key({ ...t, size: 11 })]).toEqual(['~150.25:10:buy#0', '~150.25:10:buy#1', '~150.25:11:buy#0']);
  });

  it('gives a replay of the same stream the same keys', () => {
    const stream = [t, t, { ...t, ts: 1_001 }, { ...t, symbol: 'MSFT' }, t];
    const a = new TradeKeyer();
    const b = new TradeKeyer();
    expect(stream.map((x) => a.key(x))).toEqual(stream.map((x) => b.key(x)));
  });

  it('keyOnce gives one object the same key however often it is seen, and an equal object the next key', () => {
    const keyer = new TradeKeyer();
    const a = { ...t };
    const b = { ...t };
    expect([keyer.keyOnce(a), keyer.keyOnce(a), keyer.keyOnce(b), keyer.keyOnce(a)]).toEqual(['~150.25:10:buy#0', '~150.25:10:buy#0', '~150.25:10:buy#1', '~150.25:10:buy#0']);
    expect(keyer.keyOnce({ ...t, id: 'X-1' })).toBe('X-1');
  });

  it('forgets occurrences older than its memory, so state stays bounded', () => {
    const keyer = new TradeKeyer(1_000);
    expect(keyer.key(t)).toBe('~150.25:10:buy#0');
    keyer.key({ ...t, ts: 5_000 });
    expect(keyer.key(t)).toBe('~150.25:10:buy#0');
    for (let i = 0; i < 20_000; i++) keyer.key({ ...t, ts: 10_000 + i });
    expect((keyer as unknown as { seen: Map<string, number> }).seen.size).toBeLessThanOrEqual(1_002);
  });
});
