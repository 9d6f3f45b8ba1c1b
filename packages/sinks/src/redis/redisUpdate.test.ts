import { describe, expect, it } from 'vitest';
import { parseRedisUpdate } from './redisUpdate.js';

describe('parseRedisUpdate', () => {
  it('parses each kind of update message', () => {
    for (const type of ['trades', 'quotes', 'candles', 'tickCounts', 'volumeProfiles']) {
      expect(parseRedisUpdate(`{"type":"${type}","items":[{"symbol":"A"}]}`)).toEqual({ type, items: [{ symbol: 'A' }] });
    }
  });

  it('ignores anything that is not a tickflow update', () => {
    for (const m of ['', 'hello', 'null', '[]', '{"type":"orders","items":[]}', '{"type":"trades"}', '{"type":"trades","items":{}}']) {
      expect(parseRedisUpdate(m)).toBeUndefined();
    }
  });
});
