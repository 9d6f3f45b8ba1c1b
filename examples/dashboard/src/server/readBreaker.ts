import CircuitBreaker from 'opossum';

/** State of a breaker, as the metrics and /healthz show it. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Settings of a read breaker (opossum's names). */
export interface ReadBreakerOptions {
  /** A call slower than this counts as failed. Default 2 s. */
  readonly timeout?: number;
  /** How long it stays open before one probe call goes through. Default 1 s. */
  readonly resetTimeout?: number;
}

/**
 * A circuit breaker around reads of a store (opossum): opens after 2 failures
 * at ≥ 50 % in a 10 s window, fails fast while open, lets one probe through
 * after `resetTimeout`; success closes it.
 */
export class ReadBreaker {
  private readonly cb: CircuitBreaker<[() => Promise<unknown>], unknown>;
  /** Times it opened. */
  opens = 0;

  constructor(
    readonly name: string,
    onChange?: (name: string, state: BreakerState) => void,
    { timeout = 2_000, resetTimeout = 1_000 }: ReadBreakerOptions = {},
  ) {
    this.cb = new CircuitBreaker((f: () => Promise<unknown>) => f(), { timeout, resetTimeout, volumeThreshold: 2, errorThresholdPercentage: 50, rollingCountTimeout: 10_000 });
    this.cb.on('open', () => {
      this.opens++;
      onChange?.(name, 'open');
    });
    this.cb.on('halfOpen', () => onChange?.(name, 'halfOpen'));
    this.cb.on('close', () => onChange?.(name, 'closed'));
  }

  get state(): BreakerState {
    return this.cb.opened ? 'open' : this.cb.halfOpen ? 'halfOpen' : 'closed';
  }

  /** Runs `f` through the breaker; rejects at once while open. */
  fire<T>(f: () => Promise<T>): Promise<T> {
    return this.cb.fire(f) as Promise<T>;
  }

  shutdown(): void {
    this.cb.shutdown();
  }
}
