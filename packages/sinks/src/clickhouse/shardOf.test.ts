import { describe, expect, it } from 'vitest';
import { fnv1a32, shardOf } from './shardOf.js';

describe('shardOf', () => {
  it('hashes with 32-bit FNV-1a (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII symbols', () => {
    // 'é' is C3 A9 in UTF-8.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32('é')).toBe(h >>> 0);
  });

  it('puts a symbol on fnv1a32(symbol) % shards, always the same one', () => {
    expect(shardOf('AAPL', 2)).toBe(fnv1a32('AAPL') % 2);
    expect(shardOf('AAPL', 1)).toBe(0);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOf(`SYM${i}`, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
