import { pipeline } from '@tickflow/core';
import type { DeadLetter } from '@tickflow/core';
import { startRedisSentinel } from '@tickflow/test-services';
import type { RedisAddress, RunningRedisSentinel } from '@tickflow/test-services';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import { bySymbol, historyOrder, lastTrades, makeTrades, pacedSource, quiet, rawClient } from './redisTestKit.js';

let rs: RunningRedisSentinel;
let store: RedisStore | undefined;
let raw: Redis | undefined;

beforeAll(async () => {
  rs = await startRedisSentinel({ downAfterMs: 1_000, failoverTimeoutMs: 3_000 });
});

afterAll(async () => {
  await store?.close();
  raw?.disconnect();
  await rs?.stop();
});

describe('RedisStore through Redis Sentinel', () => {
  it('keeps writing on the promoted replica when the master is killed mid-stream, losing and rejecting nothing', async () => {
    store = await RedisStore.connect({ sentinels: rs.sentinels, name: rs.masterName, historyLength: 10_000, commandTimeout: '1s', maxReconnectDelay: 200, log: quiet });
    // Sentinel mode waits for one replica per batch, so the replica has every acknowledged write when it is promoted.
    expect(store.info).toMatchObject({ mode: 'sentinel', replicas: 1, replicaAcks: 1 });
    const deadLetters: DeadLetter[] = [];
    const sink = store.sink('trades', {
      maxBatchSize: 100,
      maxBatchAge: 5,
      maxBufferedRows: 500,
      retry: { initialDelay: 20, maxDelay: 200 },
      breaker: { resetTimeout: 300, rollingWindow: 1_000, volumeThreshold: 3 },
      deadLetter: (l) => deadLetters.push(l),
    });
    const trades = makeTrades(6_000);
    let old: RedisAddress | undefined;
    let killedAfter = 0;
    await pipeline(
      pacedSource(trades, 50, 3, async (batch) => {
        if (batch !== 30) return;
        killedAfter = sink.stats.rowsWritten;
        old = await rs.killMaster('SIGKILL');
      }),
    )
      .to(sink)
      .run();

    expect(old).toBeDefined();
    expect(killedAfter).toBeGreaterThan(0);
    const promoted = await rs.waitForFailover(old!);
    expect(promoted.port).not.toBe(old!.port);

    const stats = sink.stats;
    expect(stats.rowsWritten).toBe(trades.length);
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.lastError).toMatch(/^sink "redis:trades": writing \d+ rows failed/);
    expect(stats.breakerOpens).toBeGreaterThanOrEqual(1);
    expect(stats.breaker).toBe('closed');
    expect(stats.rowsRejected).toBe(0);
    expect(stats.rowsFailed).toBe(0);
    expect(deadLetters).toEqual([]);

    // Every trade is on the new master, read with a plain client straight from it.
    raw = rawClient(promoted.host, promoted.port);
    expect((await raw.role())[0]).toBe('master');
    for (const [symbol, list] of bySymbol(trades)) {
      const members = await raw.zrange(store.key('priceHistory', symbol), 0, -1);
      expect(members).toHaveLength(list.length);
      expect(await store.getPriceHistory(symbol, 10_000)).toEqual(historyOrder(list));
    }
    for (const [symbol, t] of lastTrades(trades)) {
      expect(await raw.hget(store.key('price', symbol), 'price')).toBe(String(t.price));
    }
    await sink.close();
  }, 30_000);
});
