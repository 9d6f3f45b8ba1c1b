import { MAX_SYMBOL_LENGTH } from '../events/symbol.js';
import { SIDE_UNKNOWN } from '../tradeColumns.js';
import { F_ASK, F_BID, F_ID, F_OTHER, F_PRICE, F_SIDE, F_SIZE, F_SYMBOL, F_TS, MAX_FAST_DIGITS, POW10, SLOW, printable, printableOrSpaceInside, sideCode2 } from './scanBytes.js';
import type { ScanRows } from './scanRows.js';
import type { SymbolDictionary } from './symbolDictionary.js';
import type { TradeLineParser } from './tradeLineParser.js';

/** Field code per column of a CSV header (F_OTHER for columns the scanner skips). */
export function csvFieldCodes(header: readonly string[]): Int8Array {
  const codes = new Int8Array(header.length);
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    codes[i] = name === 'symbol' ? F_SYMBOL : name === 'ts' ? F_TS : name === 'price' ? F_PRICE : name === 'size' ? F_SIZE
      : name === 'side' ? F_SIDE : name === 'id' ? F_ID : name === 'bid' ? F_BID : name === 'ask' ? F_ASK : F_OTHER;
  }
  return codes;
}

/**
 * The CSV fast path of a TradeScanner, once the header is read: reads rows
 * without quotes whose numbers it can read exactly into the rows, and gives
 * SLOW for every other row (the line parser decides those).
 */
export class CsvFastPath {
  private num = 0;

  constructor(
    /** Field code per column (csvFieldCodes). */
    private readonly csvCodes: Int8Array,
    private readonly rows: ScanRows,
    private readonly symbols: SymbolDictionary,
    private readonly parser: TradeLineParser,
  ) {}

  /**
   * Reads one CSV row starting at `a` (no quotes, no spaces around numbers)
   * into the columns; returns the index of the newline that ends it (or `b`,
   * the end of the chunk), SLOW for anything else.
   */
  fastCsv(buf: Uint8Array, a: number, b: number): number {
    const codes = this.csvCodes;
    const ncol = codes.length;
    let i = a;
    let col = 0;
    let symA = -1, symB = -1;
    let ts = NaN, price = NaN, size = NaN;
    let side = SIDE_UNKNOWN;
    let nl = b;
    for (;;) {
      // Field [i, e): up to a comma or the end of the line.
      let e = i;
      let c = 0;
      while (e < b && (c = buf[e]!) !== 44) {
        if (c === 10) break;
        if (c === 34) return SLOW;
        e++;
      }
      const lastField = e >= b || c === 10;
      if (lastField) {
        nl = e;
        if (e > i && buf[e - 1] === 13) e--; // CRLF: the line parser drops the \r that ends the line
      }
      if (col >= ncol) return SLOW;
      switch (codes[col]!) {
        case F_SYMBOL:
          if (e === i || e - i > MAX_SYMBOL_LENGTH || !printable(buf, i, e)) return SLOW;
          symA = i;
          symB = e;
          break;
        case F_TS:
          if (!this.csvNumber(buf, i, e)) return SLOW;
          ts = this.num;
          break;
        case F_PRICE:
          if (!this.csvNumber(buf, i, e)) return SLOW;
          price = this.num;
          break;
        case F_SIZE:
          if (!this.csvNumber(buf, i, e) || !(this.num >= 0)) return SLOW;
          size = this.num;
          break;
        case F_SIDE:
          if (e !== i) {
            side = sideCode2(buf, i, e);
            if (side === SLOW) return SLOW;
          }
          break;
        case F_ID:
          if (e - i > 128 || (e > i && !printableOrSpaceInside(buf, i, e))) return SLOW;
          break;
        case F_BID:
        case F_ASK:
          if (e !== i && !this.csvNumber(buf, i, e)) return SLOW;
          break;
        default:
          break;
      }
      col++;
      if (lastField) break;
      i = e + 1;
    }
    if (col !== ncol) return SLOW;
    if (symA < 0) return SLOW;
    const id = this.symbols.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.rows.push(id, ms, price, size, side);
    return nl;
  }

  /** A CSV number the fast path can read exactly as Number() does: -?digits(.digits)?, at most 15 digits. */
  private csvNumber(buf: Uint8Array, i: number, e: number): boolean {
    let neg = false;
    if (i < e && buf[i] === 45) {
      neg = true;
      i++;
    }
    if (i >= e) return false;
    let m = 0;
    let digits = 0;
    let frac = 0;
    let c = 0;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0) return false;
    if (i < e && c === 46) {
      i++;
      while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        frac++;
        i++;
      }
      if (frac === 0) return false;
    }
    if (i !== e || digits + frac > MAX_FAST_DIGITS) return false;
    const v = frac === 0 ? m : m / POW10[frac]!;
    this.num = neg ? -v : v;
    return true;
  }
}
