/**
 * Token buckets per key (a client address): `capacity` tokens refilled at
 * `refillPerSecond`. Memory stays bounded: when more than `maxKeys` keys are
 * held, buckets that refilled completely are forgotten, and if that is not
 * enough the oldest ones go.
 */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly maxKeys = 50_000,
  ) {}

  /** Takes a token for `key` at `now` (ms): 0 when allowed, else the seconds until one is available. */
  take(key: string, now: number): number {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.sweep(now);
      b = { tokens: this.capacity, at: now };
      this.buckets.set(key, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) * this.refillPerSecond) / 1000);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.refillPerSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) * this.refillPerSecond) / 1000 >= this.capacity) this.buckets.delete(k);
    // Still full (a flood of distinct keys): drop the oldest half; those keys start with a full bucket again.
    if (this.buckets.size >= this.maxKeys) {
      let drop = this.buckets.size >> 1;
      for (const k of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
