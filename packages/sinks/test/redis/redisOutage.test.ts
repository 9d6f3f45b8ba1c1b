import { pipeline } from '@tickflow/core';
import type { DeadLetter } from '@tickflow/core';
import { startRestartableRedis } from '@tickflow/test-services';
import type { RestartableRedis } from '@tickflow/test-services';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis/index.js';
import type { BreakerState } from '../../src/index.js';
import { bySymbol, historyOrder, lastTrades, makeTrades, pacedSource, rawClient } from './redisTestKit.js';

let server: RestartableRedis;
let store: RedisStore | undefined;
let raw: Redis | undefined;

beforeAll(async () => {
  server = await startRestartableRedis();
});

afterAll(async () => {
  await store?.close();
  raw?.disconnect();
  await server?.stop();
});

describe('RedisStore on a single node that goes down', () => {
  it('pauses the job while Redis is down and restarted on the same port, then ends with the stream\'s last values', async () => {
    const logs: string[] = [];
    store = await RedisStore.connect({ url: server.url, historyLength: 10_000, commandTimeout: '1s', maxReconnectDelay: 100, log: (m) => logs.push(m) });
    const deadLetters: DeadLetter[] = [];
    const sink = store.sink('trades', {
      maxBatchSize: 100,
      maxBatchAge: 5,
      maxBufferedRows: 300,
      retry: { initialDelay: 20, maxDelay: 100 },
      breaker: { resetTimeout: 250, rollingWindow: 500, volumeThreshold: 3 },
      deadLetter: (l) => deadLetters.push(l),
    });
    const breakerStates: BreakerState[] = [];
    sink.on('breaker', (s) => breakerStates.push(s));

    const trades = makeTrades(8_000);
    let restarted: Promise<void> | undefined;
    let downAt = 0;
    let upAt = 0;
    const job = pipeline(
      pacedSource(trades, 50, 2, async (batch) => {
        if (batch !== 40) return;
        await server.kill(); // SIGKILL: a crash, mid-stream
        downAt = Date.now();
        restarted = new Promise((resolve, reject) => {
          setTimeout(() => {
            server.restart().then(() => {
              upAt = Date.now();
              resolve();
            }, reject);
          }, 1_500);
        });
      }),
    ).to(sink);
    await job.run();
    await restarted;

    const stats = sink.stats;
    expect(downAt).toBeGreaterThan(0);
    expect(upAt - downAt).toBeGreaterThanOrEqual(1_500);
    // Paused, not crashed: the buffer filled and the source waited.
    expect(stats.backpressureWaits).toBeGreaterThan(0);
    expect(stats.maxBuffered).toBeLessThanOrEqual(300 + 50);
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.breakerOpens).toBeGreaterThanOrEqual(1);
    expect(breakerStates).toContain('open');
    expect(breakerStates.at(-1)).toBe('closed');
    expect(stats.breaker).toBe('closed');
    expect(stats.rowsRejected).toBe(0);
    expect(stats.rowsFailed).toBe(0);
    expect(deadLetters).toEqual([]);
    expect(stats.rowsWritten).toBe(trades.length);
    expect(logs.some((l) => l.startsWith('redis: reconnected'))).toBe(true);

    // Final state: every trade in the history (the AOF kept what was acknowledged before the crash), the last price per symbol.
    raw = rawClient(server.host, server.port);
    for (const [symbol, list] of bySymbol(trades)) {
      expect(await store.getPriceHistory(symbol, 10_000)).toEqual(historyOrder(list));
    }
    for (const [symbol, t] of lastTrades(trades)) {
      expect(await store.getPrice(symbol)).toBe(t.price);
    }
    await sink.close();
  });
});
