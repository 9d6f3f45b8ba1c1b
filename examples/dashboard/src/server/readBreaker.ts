/** State of a read breaker. */
export type ReadBreakerState = 'closed' | 'open' | 'halfOpen';

/** Settings of a read breaker. */
export interface ReadBreakerOptions {
  /** Consecutive failures (errors or timeouts) that open it. Default 2. */
  readonly failures?: number;
  /** How long it stays open before one probe read is let through. Default 1 s. */
  readonly resetTimeout?: number;
  /** A read slower than this counts as failed. Default 2 s. */
  readonly timeout?: number;
}

/**
 * A small circuit breaker around store reads (the sinks use opossum for
 * writes; reads need only this): closed → open after `failures` failures in
 * a row; while open, calls fail fast until `resetTimeout` passes, then one
 * probe goes through (half-open): success closes it, failure opens it again.
 */
export class ReadBreaker {
  private stateNow: ReadBreakerState = 'closed';
  private failuresInRow = 0;
  private openedAt = 0;
  private probing = false;
  opens = 0;
  private readonly maxFailures: number;
  private readonly resetMs: number;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    { failures = 2, resetTimeout = 1_000, timeout = 2_000 }: ReadBreakerOptions = {},
    private readonly onChange: (name: string, state: ReadBreakerState) => void = () => {},
  ) {
    this.maxFailures = failures;
    this.resetMs = resetTimeout;
    this.timeoutMs = timeout;
  }

  get state(): ReadBreakerState {
    if (this.stateNow === 'open' && !this.probing && Date.now() - this.openedAt >= this.resetMs) return 'halfOpen';
    return this.stateNow;
  }

  /** Whether a call would be let through now. */
  get allows(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'halfOpen' && !this.probing);
  }

  /** Runs `f` through the breaker; rejects at once when open. */
  async fire<T>(f: () => Promise<T>): Promise<T> {
    if (!this.allows) throw new Error(`${this.name}: circuit breaker open`);
    const probe = this.stateNow === 'open';
    if (probe) {
      this.probing = true;
      this.set('halfOpen');
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const v = await Promise.race([
        f(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name}: read timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      this.failuresInRow = 0;
      if (this.stateNow !== 'closed') this.set('closed');
      return v;
    } catch (e) {
      this.failuresInRow++;
      if (probe || this.failuresInRow >= this.maxFailures) {
        if (this.stateNow === 'closed') this.opens++;
        this.openedAt = Date.now();
        this.set('open');
      }
      throw e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (probe) this.probing = false;
    }
  }

  private set(s: ReadBreakerState): void {
    if (this.stateNow === s) return;
    this.stateNow = s;
    this.onChange(this.name, s);
  }
}
