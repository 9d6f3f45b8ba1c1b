import { TickflowError } from './errors.js';
import type { Trade } from './events/trade.js';
import { SIDE_BUY, SIDE_SELL, sideCode } from './tradeColumns.js';

/**
 * A fixed-capacity ring of one symbol's recent trades, each with a sequence
 * number, oldest overwritten first, held as columns (typed arrays for the
 * numbers, one array for the optional ids) instead of trade objects. Trades
 * kept as objects for seconds outlive the young generation: the garbage
 * collector copies each one to the old generation and walks it on every
 * major collection (at 100 k trades/s, most of a server's GC time). `at(i)`
 * builds the trade again for the few that are read. The columns start small
 * and double until they reach `capacity`: a server keeping 10 000 trades of
 * each of thousands of symbols allocates (and zeroes) memory only for the
 * trades it has, not 650 KB per symbol up front.
 *
 * @example
 * ```ts
 * const ring = new TradeRing('AAPL', 1_000);
 * ring.push({ symbol: 'AAPL', ts: Date.now(), price: 150.25, size: 10, side: 'buy' });
 * const newest = ring.at(ring.length - 1);
 * ```
 */
export class TradeRing {
  private ts: Float64Array;
  private price: Float64Array;
  private size: Float64Array;
  /** NaN where the trade had no bid (ask). */
  private bid: Float64Array;
  private ask: Float64Array;
  private seq: Float64Array;
  private side: Uint8Array;
  private id: (string | undefined)[];
  /** Slots allocated: doubles up to `capacity`; the ring wraps only once it is `capacity`. */
  private room: number;
  private head = 0;
  private count = 0;

  /**
   * @param capacity - trades kept, the oldest dropped past it
   * @param initial - slots allocated at first (default 64, at most `capacity`)
   */
  constructor(
    readonly symbol: string,
    readonly capacity: number,
    initial = 64,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TickflowError('INVALID_ARGUMENT', `TradeRing capacity must be a whole number ≥ 1, got ${capacity}`);
    if (!Number.isInteger(initial) || initial < 1) throw new TickflowError('INVALID_ARGUMENT', `TradeRing initial size must be a whole number ≥ 1, got ${initial}`);
    const n = Math.min(initial, capacity);
    this.room = n;
    this.ts = new Float64Array(n);
    this.price = new Float64Array(n);
    this.size = new Float64Array(n);
    this.bid = new Float64Array(n);
    this.ask = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.side = new Uint8Array(n);
    this.id = new Array<string | undefined>(n);
  }

  /** Doubles the columns (up to `capacity`); called when full and not wrapped yet, so `head` is 0 and the order is kept. */
  private grow(): void {
    const n = Math.min(this.room * 2, this.capacity);
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.ts = f64(this.ts);
    this.price = f64(this.price);
    this.size = f64(this.size);
    this.bid = f64(this.bid);
    this.ask = f64(this.ask);
    this.seq = f64(this.seq);
    const side = new Uint8Array(n);
    side.set(this.side);
    this.side = side;
    const id = new Array<string | undefined>(n);
    for (let i = 0; i < this.room; i++) id[i] = this.id[i];
    this.id = id;
    this.room = n;
  }

  /** Trades held (at most `capacity`). */
  get length(): number {
    return this.count;
  }

  /** Appends a trade (of this ring's symbol) with a sequence number (default 0); past `capacity` the oldest is dropped. */
  push(t: Trade, seq = 0): void {
    if (this.count === this.room && this.room < this.capacity) this.grow();
    const cap = this.room;
    let j = this.head + this.count;
    if (j >= cap) j -= cap;
    this.ts[j] = t.ts;
    this.price[j] = t.price;
    this.size[j] = t.size;
    this.bid[j] = t.bid ?? Number.NaN;
    this.ask[j] = t.ask ?? Number.NaN;
    this.seq[j] = seq;
    this.side[j] = sideCode(t.side);
    this.id[j] = t.id;
    if (this.count < cap) this.count++;
    else if (++this.head === cap) this.head = 0;
  }

  private slot(i: number): number {
    const j = this.head + i;
    return j >= this.room ? j - this.room : j;
  }

  /** Event time of the i-th trade, 0 = oldest. */
  tsAt(i: number): number {
    return this.ts[this.slot(i)]!;
  }

  /** Sequence number of the i-th trade, 0 = oldest. */
  seqAt(i: number): number {
    return this.seq[this.slot(i)]!;
  }

  /** The i-th trade (0 = oldest) as an object, with the fields it was pushed with (the Trade fields; others are not kept). */
  at(i: number): Trade {
    const j = this.slot(i);
    const t: { -readonly [K in keyof Trade]: Trade[K] } = { symbol: this.symbol, ts: this.ts[j]!, price: this.price[j]!, size: this.size[j]! };
    const side = this.side[j];
    if (side === SIDE_BUY) t.side = 'buy';
    else if (side === SIDE_SELL) t.side = 'sell';
    const id = this.id[j];
    if (id !== undefined) t.id = id;
    const bid = this.bid[j]!;
    if (!Number.isNaN(bid)) t.bid = bid;
    const ask = this.ask[j]!;
    if (!Number.isNaN(ask)) t.ask = ask;
    return t;
  }
}
