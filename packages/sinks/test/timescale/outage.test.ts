import { pipeline, tap } from '@tickflow/core';
import { syntheticTrades } from '@tickflow/core/synthetic';
import type { Trade } from '@tickflow/core';
import { startPostgres } from '@tickflow/test-services';
import type { PostgresService } from '@tickflow/test-services';
import { eventually } from '@tickflow/test-services/eventually';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingSink } from '../../src/batchingSink.js';
import type { BreakerState } from '../../src/sink.js';
import { TimescaleStore } from '../../src/timescale/index.js';

let pg: PostgresService;

beforeAll(async () => {
  // Its own server: this test stops and restarts it.
  pg = await startPostgres({ ownServer: true });
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

describe('TimescaleStore outage', () => {
  it('writes every trade exactly once through a PostgreSQL restart mid-stream: breaker opens and closes, the pipeline waits', async () => {
    const store = await TimescaleStore.connect({ url: pg.url, schema: 'outage', aggregateRefresh: false, log: () => undefined });
    const maxBufferedRows = 2_000;
    const batchSize = 250;
    const sink = store.sink('trades', {
      maxBatchSize: 500,
      maxBatchAge: 5,
      maxBufferedRows,
      retry: { initialDelay: 20, maxDelay: 150 },
      breaker: { resetTimeout: 250, volumeThreshold: 2, rollingWindow: 1_000, timeout: 5_000 },
      warn: () => undefined,
    });
    expect(sink).toBeInstanceOf(BatchingSink);
    const events = sink as BatchingSink<Trade>;
    const states: BreakerState[] = [];
    events.on('breaker', (s) => states.push(s));
    const halfway = new Promise<void>((resolve) => {
      events.on('written', () => {
        if (sink.stats.rowsWritten >= 5_000) resolve();
      });
    });
    const trades: Trade[] = [];
    const count = 40_000;
    const job = pipeline(syntheticTrades({ seed: 3, symbols: 5, count, batchSize })).pipe(tap((t: Trade) => trades.push(t))).to(sink);
    const done = job.run();
    let down = false;
    try {
      await halfway;
      const opensAtStop = sink.stats.breakerOpens;
      await pg.stopServer();
      down = true;
      // A write the server finished just before it stopped may still be acknowledged: wait until the breaker opens
      // (one write is in flight at a time, so after that none can still succeed).
      await eventually('the breaker opens', () => sink.stats.breakerOpens > opensAtStop, { timeoutMs: 20_000 });
      const writtenAtStop = sink.stats.rowsWritten;
      // A half-open probe fails while the server is down (the breaker opens again), and the pipeline waits on the full buffer.
      await eventually('a probe fails and the pipeline waits', () => sink.stats.breakerOpens > opensAtStop + 1 && sink.stats.buffered > maxBufferedRows, { timeoutMs: 20_000 });
      // Nothing became durable while the server was down, and the pipeline waits instead of buffering more.
      expect(sink.stats.rowsWritten).toBe(writtenAtStop);
      expect(sink.stats.rowsAccepted - sink.stats.rowsWritten).toBeLessThanOrEqual(maxBufferedRows + batchSize);
      await pg.startServer();
      down = false;
      await done;
    } finally {
      if (down) await pg.startServer();
      await sink.close();
    }
    try {
      expect(trades).toHaveLength(count);
      const stored = (await Promise.all([...new Set(trades.map((t) => t.symbol))].map((symbol) => store.readTrades({ symbol, from: 0, to: 4_102_444_800_000 })))).flat();
      expect(stored).toHaveLength(count);
      expect(new Set(stored.map((t) => t.id)).size).toBe(count);
      const s = sink.stats;
      expect(s.rowsWritten).toBe(count);
      expect(s.rowsFailed).toBe(0);
      expect(s.retries).toBeGreaterThan(0);
      expect(s.breakerOpens).toBeGreaterThan(0);
      expect(states).toContain('open');
      expect(s.breaker).toBe('closed');
      expect(s.maxBuffered).toBeLessThanOrEqual(maxBufferedRows + batchSize);
      expect(s.backpressureWaits).toBeGreaterThan(0);
      expect(s.buffered).toBe(0);
    } finally {
      await store.close();
    }
  });
});
