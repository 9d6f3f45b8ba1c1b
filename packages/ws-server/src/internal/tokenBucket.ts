/**
 * A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`.
 * Each client message takes one token; a message that finds the bucket empty is
 * over the limit.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(20, 10);
 * if (!bucket.take(Date.now())) console.warn('rate limited');
 * ```
 */
export class TokenBucket {
  private tokens: number;
  private last = 0;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Takes one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    if (this.last !== 0 && now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.refillPerSecond) / 1000);
    }
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
