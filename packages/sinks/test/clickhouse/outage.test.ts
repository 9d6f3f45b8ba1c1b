import { pipeline } from '@tickflow/core';
import type { Source, Trade } from '@tickflow/core';
import { startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import { eventually } from '@tickflow/test-services/eventually';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStore, clickhouse } from '../../src/clickhouse/index.js';
import { canonical, marketTrades, testDatabase } from './marketData.js';

let server: ClickHouseService;
const database = testDatabase('outage');

beforeAll(async () => {
  // Our own server even when CLICKHOUSE_URL is set: this test kills it.
  server = await startClickHouse({ ownServer: true });
}, 300_000); // the first run on a machine installs clickhouse-server

afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A live-like source: `batches` batches of `size` trades, one every `everyMs`. */
function paced(trades: readonly Trade[], size: number, everyMs: number): Source<Trade> {
  return {
    name: 'paced',
    async *read() {
      for (let i = 0; i < trades.length; i += size) {
        yield trades.slice(i, i + size);
        await sleep(everyMs); // paces the feed on purpose, so the outage lands mid-stream
      }
    },
  };
}

describe('ClickHouse sink during a server outage', () => {
  it('pauses the pipeline, opens and closes the breaker, and stores every row exactly once after a restart', async () => {
    const trades = marketTrades({ count: 30_000, seed: 21 });
    const batch = 200;
    const maxBufferedRows = 2_000;
    const sink = clickhouse({
      url: server.url,
      database,
      kind: 'trades',
      log: () => {},
      requestTimeout: 5_000,
      maxBatchSize: 500,
      maxBatchAge: 20,
      maxBufferedRows,
      retry: { initialDelay: 20, maxDelay: 200 },
      breaker: { resetTimeout: 300, volumeThreshold: 2, errorThresholdPercentage: 50, timeout: 5_000 },
    });
    const breakerStates: string[] = [];
    const watch = setInterval(() => {
      if (breakerStates.at(-1) !== sink.stats.breaker) breakerStates.push(sink.stats.breaker);
    }, 5);

    const job = pipeline(paced(trades, batch, 5)).to(sink).run();
    // Let some rows land, then kill the server mid-stream.
    await eventually('3 000 rows are written', () => sink.stats.rowsWritten >= 3_000, { timeoutMs: 30_000 });
    const opensAtKill = sink.stats.breakerOpens;
    await server.kill();
    // The outage is noticed: the breaker opens. One write is in flight at a time, so none can still succeed after this.
    await eventually('the breaker opens', () => sink.stats.breakerOpens > opensAtKill, { timeoutMs: 20_000 });
    const writtenAtKill = sink.stats.rowsWritten;
    // While the server is down a half-open probe fails (the breaker opens again) and the pipeline waits on the full buffer.
    await eventually('a probe fails and the pipeline waits', () => sink.stats.breakerOpens > opensAtKill + 1 && sink.stats.buffered > maxBufferedRows, { timeoutMs: 20_000 });
    expect(sink.stats.rowsWritten).toBe(writtenAtKill);
    expect(sink.stats.breakerOpens).toBeGreaterThan(0);
    await server.restart();
    await job;
    clearInterval(watch);

    const stats = sink.stats;
    expect(stats.breakerOpens).toBeGreaterThan(0);
    expect(stats.breaker).toBe('closed');
    expect(breakerStates).toContain('open');
    expect(breakerStates.at(-1)).toBe('closed');
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.backpressureWaits).toBeGreaterThan(0);
    expect(stats.maxBuffered).toBeLessThanOrEqual(maxBufferedRows + batch);
    expect(stats.rowsWritten).toBe(trades.length);
    expect(stats.rowsFailed).toBe(0);

    const reader = await ClickHouseStore.connect({ url: server.url, database, log: () => {} });
    try {
      const stored = await reader.readTrades();
      expect(stored).toHaveLength(trades.length);
      expect(canonical(stored)).toStrictEqual(canonical(trades));
    } finally {
      await reader.close();
    }
  }, 60_000);
});
