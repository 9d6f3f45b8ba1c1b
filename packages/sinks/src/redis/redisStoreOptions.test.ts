import type { TickflowError } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { resolveRedisOptions } from './redisStoreOptions.js';

describe('resolveRedisOptions', () => {
  it('applies the defaults for a single node: 5 s prices, 60 s windows, no replica wait', () => {
    const o = resolveRedisOptions({ url: 'redis://127.0.0.1:6379' });
    expect(o).toMatchObject({ mode: 'single', keyPrefix: '', channel: 'tickflow:updates', publish: true, priceTtlMs: 5_000, aggregateTtlMs: 60_000, historyLength: 1_000, replicaAcks: 0, commandTimeoutMs: 5_000 });
  });

  it('waits for one replica by default in sentinel mode, and accepts durations as strings or ms', () => {
    const o = resolveRedisOptions({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster', priceTtl: '2s', aggregateTtl: 0, replicaAckTimeout: 500 });
    expect(o).toMatchObject({ mode: 'sentinel', name: 'mymaster', replicaAcks: 1, priceTtlMs: 2_000, aggregateTtlMs: 0, replicaAckTimeoutMs: 500 });
  });

  it('names the bad option and what to write instead', () => {
    const bad = (options: unknown): TickflowError => {
      try {
        resolveRedisOptions(options);
      } catch (e) {
        return e as TickflowError;
      }
      throw new Error('expected a throw');
    };
    expect(bad({})).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/exactly one of `url`/) });
    expect(bad({ url: 'redis://x', sentinels: [{ host: 'x', port: 1 }], name: 'm' }).message).toMatch(/exactly one of `url`/);
    expect(bad({ sentinels: [{ host: 'x', port: 1 }] }).message).toMatch(/needs `name`/);
    expect(bad({ url: 'localhost:6379' }).message).toMatch(/url: url must start with redis:\/\//);
    expect(bad({ url: 'redis://x', historyLength: 0 }).message).toMatch(/historyLength/);
    expect(bad({ url: 'redis://x', priceTtl: 'five seconds' }).message).toMatch(/priceTtl/);
    expect(bad({ url: 'redis://x', keyprefix: 'typo:' }).message).toMatch(/keyprefix/);
  });
});
