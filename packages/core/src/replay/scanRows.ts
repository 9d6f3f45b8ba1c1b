import type { DeadLetter } from '../events/deadLetter.js';
import type { ScannedBatch } from './tradeScanner.js';

/**
 * The output of a TradeScanner being filled: the trade columns (grown by
 * doubling), the line number and input offset of each row, the dead letters,
 * and the line counter the rows are stamped with.
 */
export class ScanRows {
  /** Lines scanned so far (the number of the line being scanned, once counted). */
  lineNo: number;
  /** Input offset of the line being scanned. */
  lineAt = NaN;
  /** Rows in the current batch. */
  n = 0;
  private cap = 0;
  private sym = new Uint32Array(0);
  private tsCol = new Float64Array(0);
  private priceCol = new Float64Array(0);
  private sizeCol = new Float64Array(0);
  private sideCol = new Uint8Array(0);
  private lineCol = new Float64Array(0);
  private offCol = new Float64Array(0);
  /** Dead letters of the current batch. */
  dead: DeadLetter[] = [];

  constructor(firstLine: number) {
    this.lineNo = firstLine;
    this.ensure(4096);
  }

  /** Hands over the rows and dead letters since the last take; `symbols` is the dictionary the symbol ids index. */
  take(symbols: string[]): ScannedBatch {
    const n = this.n;
    const batch: ScannedBatch = {
      columns: {
        length: n,
        symbols,
        symbol: this.sym.subarray(0, n),
        ts: this.tsCol.subarray(0, n),
        price: this.priceCol.subarray(0, n),
        size: this.sizeCol.subarray(0, n),
        side: this.sideCol.subarray(0, n),
      },
      lines: this.lineCol.subarray(0, n),
      offsets: this.offCol.subarray(0, n),
      deadLetters: this.dead,
    };
    this.n = 0;
    this.dead = [];
    return batch;
  }

  push(symbolId: number, ts: number, price: number, size: number, side: number): void {
    if (this.n === this.cap) this.ensure(this.cap * 2);
    const i = this.n++;
    this.sym[i] = symbolId;
    this.tsCol[i] = ts;
    this.priceCol[i] = price;
    this.sizeCol[i] = size;
    this.sideCol[i] = side;
    this.lineCol[i] = this.lineNo;
    this.offCol[i] = this.lineAt;
  }


  private ensure(cap: number): void {
    if (cap <= this.cap) return;
    const grow = <A extends Float64Array | Uint32Array | Uint8Array>(old: A, make: (n: number) => A): A => {
      const a = make(cap);
      a.set(old.subarray(0, this.n));
      return a;
    };
    this.sym = grow(this.sym, (k) => new Uint32Array(k));
    this.tsCol = grow(this.tsCol, (k) => new Float64Array(k));
    this.priceCol = grow(this.priceCol, (k) => new Float64Array(k));
    this.sizeCol = grow(this.sizeCol, (k) => new Float64Array(k));
    this.sideCol = grow(this.sideCol, (k) => new Uint8Array(k));
    this.lineCol = grow(this.lineCol, (k) => new Float64Array(k));
    this.offCol = grow(this.offCol, (k) => new Float64Array(k));
    this.cap = cap;
  }
}
