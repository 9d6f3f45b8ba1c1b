import { describe, expect, it } from 'vitest';
import { TokenBucket } from './tokenBucket.js';

describe('TokenBucket', () => {
  it('allows a burst of capacity messages, then refills at the configured rate', () => {
    const b = new TokenBucket(3, 10);
    expect([b.take(1000), b.take(1000), b.take(1000), b.take(1000)]).toEqual([true, true, true, false]);
    expect(b.take(1050)).toBe(false); // half a token
    expect(b.take(1100)).toBe(true); // one token after 100 ms
    expect(b.take(5000)).toBe(true);
    expect(b.take(5000)).toBe(true);
    expect(b.take(5000)).toBe(true);
    expect(b.take(5000)).toBe(false); // never more than capacity
  });
});
