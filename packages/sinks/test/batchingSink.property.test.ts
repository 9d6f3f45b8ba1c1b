import { fromArray, pipeline } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchingSink } from '../src/batchingSink.js';

describe('BatchingSink (property)', () => {
  it('writes every row exactly once and in order, whatever the batch sizes, buffer bound and store failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (count, sourceBatch, maxBatchSize, maxBufferedRows, failurePattern) => {
          const stored: number[] = [];
          let call = 0;
          const sink = new BatchingSink<number>(
            {
              name: 'flaky',
              writeRows: async (rows) => {
                const fail = failurePattern[call++ % Math.max(1, failurePattern.length)] === true && call < 200;
                await new Promise((r) => setImmediate(r));
                if (fail) throw new Error('flaky store');
                for (const r of rows) stored.push(r);
              },
            },
            { maxBatchSize, maxBatchAge: 0, maxBufferedRows, retry: { initialDelay: 0, maxDelay: 1 }, breaker: { resetTimeout: 1 } },
          );
          const events = Array.from({ length: count }, (_, i) => i);
          await pipeline(fromArray(events, { batchSize: sourceBatch })).to(sink).run();
          expect(stored).toEqual(events);
          expect(sink.stats.rowsWritten).toBe(count);
          expect(sink.stats.buffered).toBe(0);
          expect(sink.stats.maxBuffered).toBeLessThanOrEqual(maxBufferedRows + sourceBatch);
        },
      ),
      { numRuns: 60 },
    );
  });
});
