import { TickflowError } from './errors.js';
import type { Side, Trade } from './events/trade.js';

/** Side codes in `TradeColumns.side`. */
export const SIDE_UNKNOWN = 0;
/** Side code for a buyer-initiated trade. */
export const SIDE_BUY = 1;
/** Side code for a seller-initiated trade. */
export const SIDE_SELL = 2;

/**
 * A batch of trades as typed-array columns: the fast batch entry point. Symbols
 * are dictionary-encoded (`symbol[i]` indexes `symbols`); reuse the same
 * `symbols` array across batches and windowing skips the key lookup entirely.
 */
export interface TradeColumns {
  /** Number of rows used (columns may be longer). */
  readonly length: number;
  /** Dictionary of symbols. */
  readonly symbols: readonly string[];
  /** Row → index into `symbols`. */
  readonly symbol: Uint32Array | Uint16Array;
  /** Event time, UTC epoch ms. */
  readonly ts: Float64Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  /** 0 unknown, 1 buy, 2 sell; omitted means all unknown. */
  readonly side?: Uint8Array | undefined;
}

/** Side code for a Trade's side. */
export function sideCode(side: Side | undefined): number {
  return side === 'buy' ? SIDE_BUY : side === 'sell' ? SIDE_SELL : SIDE_UNKNOWN;
}

/** Materialises row `i` of a columnar batch as a Trade object. */
export function tradeAt(cols: TradeColumns, i: number): Trade {
  const t: Trade = {
    symbol: cols.symbols[cols.symbol[i]!]!,
    ts: cols.ts[i]!,
    price: cols.price[i]!,
    size: cols.size[i]!,
  };
  const s = cols.side?.[i];
  if (s === SIDE_BUY) t.side = 'buy';
  else if (s === SIDE_SELL) t.side = 'sell';
  return t;
}

/**
 * Checks a columnar batch's shape (lengths, dictionary indexes, finite values,
 * sizes ≥ 0) and throws a TickflowError naming the first bad row.
 */
export function validateTradeColumns(cols: TradeColumns): void {
  const n = cols.length;
  for (const [name, col] of [['symbol', cols.symbol], ['ts', cols.ts], ['price', cols.price], ['size', cols.size]] as const) {
    if (col.length < n) throw new TickflowError('INVALID_ARGUMENT', `TradeColumns.${name} has ${col.length} rows, fewer than length ${n}`);
  }
  if (cols.side !== undefined && cols.side.length < n) {
    throw new TickflowError('INVALID_ARGUMENT', `TradeColumns.side has ${cols.side.length} rows, fewer than length ${n}`);
  }
  const dict = cols.symbols.length;
  for (let i = 0; i < n; i++) {
    const s = cols.symbol[i]!;
    const ts = cols.ts[i]!, p = cols.price[i]!, q = cols.size[i]!;
    if (s >= dict) throw new TickflowError('INVALID_ARGUMENT', `TradeColumns row ${i}: symbol index ${s} is outside the dictionary of ${dict}`);
    if (!Number.isFinite(ts) || !Number.isFinite(p) || !Number.isFinite(q) || q < 0) {
      throw new TickflowError('INVALID_ARGUMENT', `TradeColumns row ${i}: ts=${ts} price=${p} size=${q} (need finite values and size ≥ 0)`);
    }
  }
}

/**
 * Builds TradeColumns from trades, growing as needed; the symbol dictionary
 * persists across `reset()` so successive batches share it.
 *
 * @example
 * ```ts
 * const b = new TradeColumnsBuilder(4096);
 * for (const t of trades) b.add(t);
 * job.pushColumns(b.build());
 * b.reset();
 * ```
 */
export class TradeColumnsBuilder {
  private readonly ids = new Map<string, number>();
  private readonly dict: string[] = [];
  private sym: Uint32Array;
  private tsCol: Float64Array;
  private priceCol: Float64Array;
  private sizeCol: Float64Array;
  private sideCol: Uint8Array;
  private n = 0;

  constructor(capacity = 4096) {
    this.sym = new Uint32Array(capacity);
    this.tsCol = new Float64Array(capacity);
    this.priceCol = new Float64Array(capacity);
    this.sizeCol = new Float64Array(capacity);
    this.sideCol = new Uint8Array(capacity);
  }

  /** Rows added since the last reset. */
  get length(): number {
    return this.n;
  }

  /** Dictionary index of a symbol, adding it when new. */
  symbolId(symbol: string): number {
    let id = this.ids.get(symbol);
    if (id === undefined) {
      id = this.dict.length;
      this.dict.push(symbol);
      this.ids.set(symbol, id);
    }
    return id;
  }

  /** Appends one row. */
  addRow(symbolId: number, ts: number, price: number, size: number, side: number = SIDE_UNKNOWN): void {
    if (this.n === this.sym.length) this.grow();
    const i = this.n++;
    this.sym[i] = symbolId;
    this.tsCol[i] = ts;
    this.priceCol[i] = price;
    this.sizeCol[i] = size;
    this.sideCol[i] = side;
  }

  /** Appends one trade. */
  add(trade: Trade): void {
    this.addRow(this.symbolId(trade.symbol), trade.ts, trade.price, trade.size, sideCode(trade.side));
  }

  /** A view of the rows added so far (shares memory with the builder until the next reset). */
  build(): TradeColumns {
    return {
      length: this.n,
      symbols: this.dict,
      symbol: this.sym.subarray(0, this.n),
      ts: this.tsCol.subarray(0, this.n),
      price: this.priceCol.subarray(0, this.n),
      size: this.sizeCol.subarray(0, this.n),
      side: this.sideCol.subarray(0, this.n),
    };
  }

  /** Forgets the rows (keeps capacity and the symbol dictionary). */
  reset(): void {
    this.n = 0;
  }

  private grow(): void {
    const cap = this.sym.length * 2 || 1024;
    const sym = new Uint32Array(cap); sym.set(this.sym); this.sym = sym;
    const ts = new Float64Array(cap); ts.set(this.tsCol); this.tsCol = ts;
    const price = new Float64Array(cap); price.set(this.priceCol); this.priceCol = price;
    const size = new Float64Array(cap); size.set(this.sizeCol); this.sizeCol = size;
    const side = new Uint8Array(cap); side.set(this.sideCol); this.sideCol = side;
  }
}

/** Converts an array of trades to one columnar batch. */
export function toTradeColumns(trades: readonly Trade[]): TradeColumns {
  const b = new TradeColumnsBuilder(Math.max(16, trades.length));
  for (let i = 0; i < trades.length; i++) b.add(trades[i]!);
  return b.build();
}
