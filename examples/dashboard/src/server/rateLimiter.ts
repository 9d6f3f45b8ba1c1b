/**
 * Token buckets per key (a user, or an IP for anonymous requests): `rate`
 * tokens per second, bursts up to `burst`. Idle full buckets are forgotten so
 * memory stays bounded by the active keys.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rate: number,
    readonly burst: number = rate,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token: 0 when allowed, else the seconds to wait (for Retry-After). */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= 100_000) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  /** The seconds until `key` has a token (0: it has one now); takes nothing. */
  peek(key: string): number {
    const b = this.buckets.get(key);
    if (b === undefined) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((this.now() - b.at) / 1000) * this.rate);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.rate));
  }

  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    // Still full (a flood of distinct keys): forget the oldest half, which start over with a full bucket.
    if (this.buckets.size >= 100_000) {
      let drop = this.buckets.size >> 1;
      for (const k of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}

/**
 * Failed sign-ins: each failure takes a token from the (user name, address)
 * bucket and from the address's bucket; while either is empty, attempts are
 * refused with 429 before the password is even compared (so no answer says
 * whether it was right). A success leaves the buckets alone. One address
 * cannot lock a user out for others: the per-name bucket is per address too.
 */
export class LoginThrottle {
  private readonly perName: RateLimiter;
  private readonly perAddress: RateLimiter;

  constructor(
    /** Failures per user name and address: burst, then one per `nameEveryS` seconds. */
    nameBurst = 5,
    nameEveryS = 60,
    /** Failures per address (any names): burst, then one per `addressEveryS` seconds. */
    addressBurst = 20,
    addressEveryS = 6,
    now: () => number = Date.now,
  ) {
    this.perName = new RateLimiter(1 / nameEveryS, nameBurst, now);
    this.perAddress = new RateLimiter(1 / addressEveryS, addressBurst, now);
  }

  /** Seconds to wait before `username` may be tried again from `address` (0: go ahead). */
  wait(username: string, address: string): number {
    return Math.max(this.perName.peek(`${address}\u0000${username}`), this.perAddress.peek(address));
  }

  /** Records a failed attempt. */
  failed(username: string, address: string): void {
    this.perName.take(`${address}\u0000${username}`);
    this.perAddress.take(address);
  }
}
