import { TickflowError, describeError, ms } from '@tickflow/core';
import CircuitBreaker from 'opossum';
import type { z } from 'zod';
import { backoffDelay } from './backoff.js';
import type { BackoffSettings } from './backoff.js';
import type { BreakerState, SinkTarget } from './sink.js';
import type { SinkOptionsSchema } from './sinkOptions.js';

/** The parsed retry and breaker settings of SinkOptionsSchema. */
export type WritePolicyOptions = Pick<z.output<typeof SinkOptionsSchema>, 'retry' | 'breaker'>;

/** What a RetryingWriter reports, synchronously as it happens (the `BatchingSink` keeps the counters and emits the events). */
export interface WriteListener<T> {
  /** A batch became durable after `attempts` tries, `elapsedMs` after the first began. */
  written(rows: number, attempts: number, elapsedMs: number): void;
  /** An attempt failed (every failed attempt, the last one included). */
  failed(error: TickflowError): void;
  /** A failed attempt will be retried after `delayMs`. */
  retry(info: { attempt: number; delayMs: number; error: TickflowError }): void;
  /** A batch was given up after `attempts` failed tries (`retry.maxAttempts`); `cause` is the last error. */
  gaveUp(rows: readonly T[], attempts: number, cause: unknown): void;
  /** The circuit breaker changed state. */
  breaker(state: BreakerState): void;
}

/**
 * The write policy of a sink: each store write goes through a circuit
 * breaker (opossum) and a failed one is retried with exponential backoff and
 * jitter until it is durable or `retry.maxAttempts` tries have failed.
 * Writes are the target's own (idempotent), so a write that timed out may be
 * sent again.
 */
export class RetryingWriter<T> {
  /** Tries per batch before it is given up. */
  readonly maxAttempts: number;
  private readonly backoff: BackoffSettings;
  private readonly breakerImpl: CircuitBreaker<[readonly T[]], void>;

  constructor(
    private readonly target: SinkTarget<T>,
    o: WritePolicyOptions,
    private readonly listener: WriteListener<T>,
  ) {
    this.maxAttempts = o.retry.maxAttempts;
    this.backoff = { initialDelayMs: ms(o.retry.initialDelay, 'retry.initialDelay'), maxDelayMs: ms(o.retry.maxDelay, 'retry.maxDelay'), factor: o.retry.factor };
    const timeout = ms(o.breaker.timeout, 'breaker.timeout');
    this.breakerImpl = new CircuitBreaker((rows: readonly T[]) => this.target.writeRows(rows), {
      name: target.name,
      timeout: timeout > 0 ? timeout : false,
      resetTimeout: ms(o.breaker.resetTimeout, 'breaker.resetTimeout'),
      rollingCountTimeout: ms(o.breaker.rollingWindow, 'breaker.rollingWindow'),
      errorThresholdPercentage: o.breaker.errorThresholdPercentage,
      volumeThreshold: o.breaker.volumeThreshold,
    });
    this.breakerImpl.on('open', () => this.listener.breaker('open'));
    this.breakerImpl.on('halfOpen', () => this.listener.breaker('halfOpen'));
    this.breakerImpl.on('close', () => this.listener.breaker('closed'));
  }

  /** Writes one batch, retrying; resolves true once it is durable, false when it was given up (never rejects). */
  async write(rows: readonly T[]): Promise<boolean> {
    const t0 = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.breakerImpl.fire(rows);
        this.listener.written(rows.length, attempt, Date.now() - t0);
        return true;
      } catch (e) {
        const error = new TickflowError('SINK_FAILED', `sink "${this.target.name}": writing ${rows.length} rows failed (attempt ${attempt}): ${describeError(e)}`, { cause: e });
        this.listener.failed(error);
        if (attempt >= this.maxAttempts) {
          this.listener.gaveUp(rows, attempt, e);
          return false;
        }
        const delayMs = backoffDelay(attempt, this.backoff);
        this.listener.retry({ attempt, delayMs, error });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Stops the breaker's timers (after the last write). */
  shutdown(): void {
    this.breakerImpl.shutdown();
  }
}
