import { DurationSchema } from '@tickflow/core';
import type { DeadLetter, OutputLike } from '@tickflow/core';
import { z } from 'zod';

/** Options of every sink: batching, buffer bound, retry, circuit breaker, dead letters. */
export const SinkOptionsSchema = z.object({
  /** Most rows per store write. Default 5 000. */
  maxBatchSize: z.number().int().positive().default(5_000),
  /** Longest a row waits for its batch to fill before it is written anyway. Default 200 ms. */
  maxBatchAge: DurationSchema.default(200),
  /** Rows accepted but not yet durable beyond which callers wait (backpressure). Default 100 000. */
  maxBufferedRows: z.number().int().positive().default(100_000),
  retry: z
    .object({
      /** First retry delay. Default 50 ms. */
      initialDelay: DurationSchema.default(50),
      /** Longest delay between retries. Default 5 s. */
      maxDelay: DurationSchema.default(5_000),
      /** Growth per retry. Default 2. */
      factor: z.number().min(1).default(2),
      /** Attempts per batch before its rows go to the dead-letter output. Default: retry for ever (nothing is dropped). */
      maxAttempts: z.number().int().positive().or(z.literal(Infinity)).default(Infinity),
    })
    .prefault({}),
  breaker: z
    .object({
      /** Error percentage over the rolling window that opens the breaker. Default 50. */
      errorThresholdPercentage: z.number().min(1).max(100).default(50),
      /** Writes in the rolling window before the breaker may open. Default 3. */
      volumeThreshold: z.number().int().nonnegative().default(3),
      /** How long the breaker stays open before a half-open probe. Default 2 s. */
      resetTimeout: DurationSchema.default(2_000),
      /** Rolling window of the error statistics. Default 10 s. */
      rollingWindow: DurationSchema.default(10_000),
      /** A store write slower than this counts as failed (and is retried; writes are idempotent). Default 30 s. */
      timeout: DurationSchema.default(30_000),
    })
    .prefault({}),
});

/** Options of every sink (see SinkOptionsSchema for defaults). */
export type SinkOptions = z.input<typeof SinkOptionsSchema> & {
  /** Where rejected rows go, with the reason. Default: counted, emitted as `deadLetter` events, and warned about once. */
  readonly deadLetter?: OutputLike<DeadLetter> | undefined;
  /** Called with warnings (default console.warn). */
  readonly warn?: ((message: string) => void) | undefined;
};
