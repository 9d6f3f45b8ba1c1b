import type { Trade } from '@tickflow/core';

/** How a store gets the idempotency key of a trade row. */
export type TradeKeyOf = (trade: Trade) => string;

/**
 * Gives every trade a stable key for idempotent writes: the
 * exchange trade id when the trade has one; otherwise its content
 * (`~price:size:side`) plus how many identical trades of the same symbol and
 * millisecond this keyer has seen before (`#n`), so two genuinely identical
 * prints are both kept while a re-delivered one overwrites its first copy.
 *
 * Occurrence counts are remembered for `memoryMs` of event time behind the
 * newest trade seen. Stores key rows by (symbol, ts, key).
 *
 * @example
 * ```ts
 * const keyer = new TradeKeyer();
 * keyer.key({ symbol: 'AAPL', ts: 1, price: 1, size: 1, id: 'X1' }); // 'X1'
 * keyer.key({ symbol: 'AAPL', ts: 1, price: 1, size: 1 });           // '~1:1:#0'
 * keyer.key({ symbol: 'AAPL', ts: 1, price: 1, size: 1 });           // '~1:1:#1'
 * ```
 */
export class TradeKeyer {
  private readonly seen = new Map<string, number>();
  private readonly byObject = new WeakMap<Trade, string>();
  private readonly byTs: number[] = [];
  private readonly keysByTs: string[] = [];
  private head = 0;
  private maxTs = -Infinity;

  constructor(private readonly memoryMs = 60_000) {}

  /** The key of one trade (ids pass through unchanged). */
  key(t: Trade): string {
    if (t.id !== undefined && t.id !== '') return t.id;
    const content = `~${t.price}:${t.size}:${t.side ?? ''}`;
    const full = `${t.symbol}|${t.ts}|${content}`;
    const n = this.seen.get(full) ?? 0;
    this.seen.set(full, n + 1);
    if (n === 0) {
      this.byTs.push(t.ts);
      this.keysByTs.push(full);
    }
    if (t.ts > this.maxTs) {
      this.maxTs = t.ts;
      this.forgetOld();
    }
    return `${content}#${n}`;
  }

  /**
   * The key of one trade object, given once: the same object seen again (a
   * retried or re-delivered row) keeps the key it got the first time, while
   * an equal trade in another object is a new print (`key` counts it).
   */
  keyOnce(t: Trade): string {
    if (t.id !== undefined && t.id !== '') return t.id;
    let k = this.byObject.get(t);
    if (k === undefined) {
      k = this.key(t);
      this.byObject.set(t, k);
    }
    return k;
  }

  private forgetOld(): void {
    // Entries were added roughly in time order; forget the prefix older than the memory.
    const limit = this.maxTs - this.memoryMs;
    while (this.head < this.byTs.length && this.byTs[this.head]! < limit) {
      this.seen.delete(this.keysByTs[this.head]!);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.byTs.length) {
      this.byTs.splice(0, this.head);
      this.keysByTs.splice(0, this.head);
      this.head = 0;
    }
  }
}
