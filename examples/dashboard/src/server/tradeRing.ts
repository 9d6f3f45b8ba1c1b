import type { Trade } from '@tickflow/core';

const NO_SIDE = 0;
const BUY = 1;
const SELL = 2;

/**
 * A fixed-capacity ring of one symbol's raw trades with their arrival
 * sequence numbers, oldest overwritten first, held as columns (typed arrays
 * for the numbers, one array for the optional ids) instead of the trade
 * objects: 10 000 trades × 100 symbols as objects were ~1 M objects, ~4 M
 * boxed numbers and ~3 M strings on the server's heap, which every major GC
 * had to walk. `at(i)` builds the object again for the few a page returns.
 */
export class TradeRing {
  private readonly ts: Float64Array;
  private readonly price: Float64Array;
  private readonly size: Float64Array;
  /** NaN where the trade had no bid (ask). */
  private readonly bid: Float64Array;
  private readonly ask: Float64Array;
  private readonly seq: Float64Array;
  private readonly side: Uint8Array;
  private readonly id: (string | undefined)[];
  private head = 0;
  private count = 0;

  constructor(
    readonly symbol: string,
    readonly capacity: number,
  ) {
    this.ts = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.size = new Float64Array(capacity);
    this.bid = new Float64Array(capacity);
    this.ask = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.side = new Uint8Array(capacity);
    this.id = new Array<string | undefined>(capacity);
  }

  /** Trades held. */
  get length(): number {
    return this.count;
  }

  /** Appends a trade (of this ring's symbol) with its sequence number. */
  push(t: Trade, seq: number): void {
    const cap = this.capacity;
    let j = this.head + this.count;
    if (j >= cap) j -= cap;
    this.ts[j] = t.ts;
    this.price[j] = t.price;
    this.size[j] = t.size;
    this.bid[j] = t.bid ?? Number.NaN;
    this.ask[j] = t.ask ?? Number.NaN;
    this.seq[j] = seq;
    this.side[j] = t.side === 'buy' ? BUY : t.side === 'sell' ? SELL : NO_SIDE;
    this.id[j] = t.id;
    if (this.count < cap) this.count++;
    else if (++this.head === cap) this.head = 0;
  }

  private slot(i: number): number {
    const j = this.head + i;
    return j >= this.capacity ? j - this.capacity : j;
  }

  /** Event time of the i-th trade, 0 = oldest. */
  tsAt(i: number): number {
    return this.ts[this.slot(i)]!;
  }

  /** Sequence number of the i-th trade, 0 = oldest. */
  seqAt(i: number): number {
    return this.seq[this.slot(i)]!;
  }

  /** The i-th trade as an object (the fields it was received with) and its sequence number. */
  at(i: number): Trade & { seq: number } {
    const j = this.slot(i);
    const t: { -readonly [K in keyof Trade]: Trade[K] } & { seq: number } = { symbol: this.symbol, ts: this.ts[j]!, price: this.price[j]!, size: this.size[j]!, seq: this.seq[j]! };
    const side = this.side[j];
    if (side === BUY) t.side = 'buy';
    else if (side === SELL) t.side = 'sell';
    const id = this.id[j];
    if (id !== undefined) t.id = id;
    const bid = this.bid[j]!;
    if (!Number.isNaN(bid)) t.bid = bid;
    const ask = this.ask[j]!;
    if (!Number.isNaN(ask)) t.ask = ask;
    return t;
  }
}
