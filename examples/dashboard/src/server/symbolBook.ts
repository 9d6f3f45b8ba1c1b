import type { Order } from './orderInput.js';

/**
 * The resting limit orders of one symbol, indexed by price: buys sorted by
 * limit ascending, sells descending, so the orders a trade crosses are at the
 * ends (a trade that crosses nothing costs two comparisons, however many
 * orders rest). Among equal limits the older order is nearer the end (fills
 * first).
 */
export class SymbolBook {
  readonly buys: Order[] = [];
  readonly sells: Order[] = [];

  get size(): number {
    return this.buys.length + this.sells.length;
  }

  add(o: Order): void {
    const list = o.side === 'buy' ? this.buys : this.sells;
    const before = o.side === 'buy' ? (x: Order) => x.limitPrice! >= o.limitPrice! : (x: Order) => x.limitPrice! <= o.limitPrice!;
    // First index whose order sorts at or after o's price: o goes before the older equal ones.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(list[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    list.splice(lo, 0, o);
  }

  remove(o: Order): boolean {
    const list = o.side === 'buy' ? this.buys : this.sells;
    const at = list.lastIndexOf(o);
    if (at < 0) return false;
    list.splice(at, 1);
    return true;
  }

  /** Takes the orders a trade at `price` crosses, best price first. */
  crossed(price: number, out: Order[]): void {
    const b = this.buys;
    while (b.length > 0 && b[b.length - 1]!.limitPrice! >= price) out.push(b.pop()!);
    const s = this.sells;
    while (s.length > 0 && s[s.length - 1]!.limitPrice! <= price) out.push(s.pop()!);
  }
}
