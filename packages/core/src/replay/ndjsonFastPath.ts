import { Buffer } from 'node:buffer';
import { MAX_SYMBOL_LENGTH } from '../events/symbol.js';
import { SIDE_UNKNOWN } from '../tradeColumns.js';
import { F_ASK, F_BID, F_ID, F_OTHER, F_PRICE, F_SIDE, F_SIZE, F_SYMBOL, F_TS, MAX_FAST_DIGITS, POW10, SLOW, keyField, printable, sideWord, skipWs } from './scanBytes.js';
import type { ScanRows } from './scanRows.js';
import type { SymbolDictionary } from './symbolDictionary.js';
import type { TradeLineParser } from './tradeLineParser.js';

/** Lines the learned NDJSON shape misses (and fastJson takes) before it is learned again from the next such line. */
const SHAPE_RELEARN = 16;

/**
 * The NDJSON fast path of a TradeScanner: reads the lines it can prove
 * (plain keys and strings, JSON numbers, epoch timestamps) byte by byte into
 * the rows, first against the line shape learned from an earlier line, and
 * gives SLOW for every other line (the line parser decides those).
 */
export class NdjsonFastPath {
  // Per-line scratch.
  private num = 0;
  private end = 0;
  private strHigh = false;
  // The NDJSON line shape learned from an accepted line (see fastShape): the
  // literal bytes between values, each value's field and whether it is a string.
  private shapeCount = -1;
  private shapeLits = new Uint8Array(0);
  private shapeLitAt = new Int32Array(0);
  private shapeField = new Int8Array(0);
  private shapeStr = new Uint8Array(0);
  private shapeMisses = 0;

  constructor(
    private readonly rows: ScanRows,
    private readonly symbols: SymbolDictionary,
    private readonly parser: TradeLineParser,
  ) {}

  /**
   * Reads the line starting at `a` (bounded by `end`, the end of the chunk);
   * returns the index of the newline that ends it (or `end`), or SLOW.
   */
  line(buf: Uint8Array, a: number, end: number): number {
    let e = this.shapeCount >= 0 ? this.fastShape(buf, a, end) : SLOW;
    if (e === SLOW) {
      e = this.fastJson(buf, a, end);
      if (e !== SLOW && (this.shapeCount < 0 || ++this.shapeMisses > SHAPE_RELEARN)) this.learnShape(buf, a, e);
    }
    return e;
  }

  /**
   * Reads one NDJSON line starting at `a` (bounded by `b`, the end of the
   * chunk) into the columns; returns the index of the newline that ends it
   * (or `b`), or SLOW when the line parser must decide. A raw newline can
   * only end a line: JSON strings cannot hold one and skipWs stops at it.
   */
  private fastJson(buf: Uint8Array, a: number, b: number): number {
    let i = skipWs(buf, a, b);
    if (i === b || buf[i] === 10) return i; // blank line
    if (buf[i] !== 123 /* { */) return SLOW;
    i++;
    let seen = 0;
    let symA = -1, symB = -1;
    let ts = NaN, price = NaN, size = NaN;
    let side = SIDE_UNKNOWN;
    for (;;) {
      i = skipWs(buf, i, b);
      if (i >= b || buf[i] !== 34 /* " */) return SLOW;
      // Key: plain ASCII, no escapes.
      const ka = i + 1;
      let k = ka;
      while (k < b) {
        const c = buf[k]!;
        if (c === 34 || c === 92 || c < 32) break;
        k++;
      }
      if (k >= b || buf[k] !== 34) return SLOW;
      const field = keyField(buf, ka, k);
      i = skipWs(buf, k + 1, b);
      if (i >= b || buf[i] !== 58 /* : */) return SLOW;
      i = skipWs(buf, i + 1, b);
      if (i >= b) return SLOW;
      if (field !== F_OTHER) {
        // One alias per field (JSON.parse keeps the last duplicate; the line parser sorts that out).
        const bit = 1 << field;
        if ((seen & bit) !== 0) return SLOW;
        seen |= bit;
      }
      const c = buf[i]!;
      if (c === 34) {
        if (!this.jsonString(buf, i + 1, b)) return SLOW;
        const sa = i + 1, sb = this.end;
        i = sb + 1;
        switch (field) {
          case F_SYMBOL:
            if (this.strHigh || sb === sa || sb - sa > MAX_SYMBOL_LENGTH || !printable(buf, sa, sb)) return SLOW;
            symA = sa;
            symB = sb;
            break;
          case F_SIDE:
            side = sideWord(buf, sa, sb);
            if (side === SLOW) return SLOW;
            break;
          case F_ID:
            // Any id of ≤ 128 ASCII characters is valid (ids are not kept in columns).
            if (this.strHigh || sb - sa > 128) return SLOW;
            break;
          case F_OTHER:
            break;
          default:
            return SLOW; // a string where a number belongs (numeric strings, ISO times): the line parser
        }
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        if (!this.jsonNumber(buf, i, b)) return SLOW;
        i = this.end;
        const v = this.num;
        switch (field) {
          case F_TS: ts = v; break;
          case F_PRICE: price = v; break;
          case F_SIZE:
            if (!(v >= 0)) return SLOW;
            size = v;
            break;
          case F_BID:
          case F_ASK:
          case F_OTHER:
            break;
          default:
            return SLOW; // a number where a string belongs
        }
      } else {
        return SLOW; // true, false, null, objects, arrays
      }
      i = skipWs(buf, i, b);
      if (i >= b) return SLOW;
      const d = buf[i]!;
      if (d === 44 /* , */) { i++; continue; }
      if (d !== 125 /* } */) return SLOW;
      i = skipWs(buf, i + 1, b);
      if (i !== b && buf[i] !== 10) return SLOW;
      break;
    }
    if (symA < 0 || ts !== ts || price !== price || size !== size) return SLOW;
    const id = this.symbols.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.rows.push(id, ms, price, size, side);
    return i;
  }

  /**
   * Reads an NDJSON line of the learned shape: the same keys in the same
   * order with the same spacing as the line the shape was learned from (so
   * fastJson would walk it the same way), only the values differ. Values are
   * read and checked exactly as fastJson reads them; any other byte gives
   * SLOW and fastJson decides. Saves the key matching on files where every
   * line has one layout, which is nearly all of them.
   */
  private fastShape(buf: Uint8Array, a: number, b: number): number {
    const lits = this.shapeLits;
    const at = this.shapeLitAt;
    const count = this.shapeCount;
    let i = a;
    let symA = -1, symB = -1;
    let ts = NaN, price = NaN, size = NaN;
    let side = SIDE_UNKNOWN;
    for (let k = 0; ; k++) {
      // The literal before value k (or after the last value): quotes, keys, separators.
      let p = at[k]!;
      const q = at[k + 1]!;
      if (i + (q - p) > b) return SLOW;
      while (p < q) {
        if (buf[i] !== lits[p]) return SLOW;
        i++;
        p++;
      }
      if (k === count) break;
      const field = this.shapeField[k]!;
      if (this.shapeStr[k] === 1) {
        if (!this.jsonString(buf, i, b)) return SLOW;
        const sa = i, sb = this.end;
        i = sb; // the closing quote starts the next literal
        switch (field) {
          case F_SYMBOL:
            if (this.strHigh || sb === sa || sb - sa > MAX_SYMBOL_LENGTH || !printable(buf, sa, sb)) return SLOW;
            symA = sa;
            symB = sb;
            break;
          case F_SIDE:
            side = sideWord(buf, sa, sb);
            if (side === SLOW) return SLOW;
            break;
          case F_ID:
            if (this.strHigh || sb - sa > 128) return SLOW;
            break;
          case F_OTHER:
            break;
          default:
            return SLOW;
        }
      } else {
        if (!this.jsonNumber(buf, i, b)) return SLOW;
        i = this.end;
        const v = this.num;
        switch (field) {
          case F_TS: ts = v; break;
          case F_PRICE: price = v; break;
          case F_SIZE:
            if (!(v >= 0)) return SLOW;
            size = v;
            break;
          case F_BID:
          case F_ASK:
          case F_OTHER:
            break;
          default:
            return SLOW;
        }
      }
    }
    if (i !== b && buf[i] !== 10) return SLOW;
    if (symA < 0 || ts !== ts || price !== price || size !== size) return SLOW;
    const id = this.symbols.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.rows.push(id, ms, price, size, side);
    return i;
  }

  /**
   * Learns the shape of the line `buf[a, e)` that fastJson has just accepted
   * as a trade (so every step below succeeds): walks it again the same way
   * and keeps the bytes between values. Lines of more than 16 values keep no
   * shape.
   */
  private learnShape(buf: Uint8Array, a: number, e: number): void {
    // fastJson also accepts blank lines: they have no shape.
    if (skipWs(buf, a, e) === e) return;
    this.shapeMisses = 0;
    this.shapeCount = -1;
    const lits: number[] = [];
    const at: number[] = [0];
    const fields: number[] = [];
    const strs: number[] = [];
    const lit = (from: number, to: number): void => {
      for (let j = from; j < to; j++) lits.push(buf[j]!);
      at.push(lits.length);
    };
    let from = a;
    let i = skipWs(buf, a, e) + 1; // after {
    for (;;) {
      i = skipWs(buf, i, e);
      const ka = i + 1;
      let k = ka;
      while (buf[k] !== 34) k++;
      const field = keyField(buf, ka, k);
      i = skipWs(buf, skipWs(buf, k + 1, e) + 1, e); // after the colon
      if (buf[i] === 34) {
        lit(from, i + 1);
        this.jsonString(buf, i + 1, e);
        from = this.end;
        i = this.end + 1;
        strs.push(1);
      } else {
        lit(from, i);
        this.jsonNumber(buf, i, e);
        from = i = this.end;
        strs.push(0);
      }
      fields.push(field);
      if (fields.length > 16) return;
      i = skipWs(buf, i, e);
      if (buf[i] === 44) {
        i++;
        continue;
      }
      break;
    }
    lit(from, e);
    this.shapeLits = Uint8Array.from(lits);
    this.shapeLitAt = Int32Array.from(at);
    this.shapeField = Int8Array.from(fields);
    this.shapeStr = Uint8Array.from(strs);
    this.shapeCount = fields.length;
  }

  /** Scans a JSON string body from `i` (after the quote); sets `end` to the closing quote. False for escapes or control characters. */
  private jsonString(buf: Uint8Array, i: number, b: number): boolean {
    let high = false;
    while (i < b) {
      const c = buf[i]!;
      if (c === 34) {
        this.end = i;
        this.strHigh = high;
        return true;
      }
      if (c === 92 || c < 32) return false;
      if (c >= 128) high = true;
      i++;
    }
    return false;
  }

  /**
   * Reads a JSON number at `i`; sets `num` and `end`. Numbers of up to 15
   * digits without exponent are computed as mantissa / 10^k, one correctly
   * rounded division of exact values, so they equal JSON.parse's; others are
   * converted by Number() on their text. False when not a JSON number.
   */
  private jsonNumber(buf: Uint8Array, i: number, b: number): boolean {
    const start = i;
    let neg = false;
    if (buf[i] === 45) {
      neg = true;
      i++;
    }
    if (i >= b) return false;
    let m = 0;
    let digits = 0;
    let c = buf[i]!;
    if (c === 48) {
      i++;
      digits = 1;
    } else if (c >= 49 && c <= 57) {
      while (i < b && (c = buf[i]!) >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        digits++;
        i++;
      }
    } else {
      return false;
    }
    let frac = 0;
    if (i < b && buf[i] === 46) {
      i++;
      const fa = i;
      while (i < b && (c = buf[i]!) >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        i++;
      }
      frac = i - fa;
      if (frac === 0) return false;
      digits += frac;
    }
    let slow = digits > MAX_FAST_DIGITS;
    if (i < b && (buf[i] === 101 || buf[i] === 69)) {
      i++;
      if (i < b && (buf[i] === 43 || buf[i] === 45)) i++;
      const ea = i;
      while (i < b && (c = buf[i]!) >= 48 && c <= 57) i++;
      if (i === ea) return false;
      slow = true;
    }
    this.end = i;
    if (slow) {
      this.num = Number(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', start, i));
      return this.num - this.num === 0;
    }
    const v = frac === 0 ? m : m / POW10[frac]!;
    this.num = neg ? -v : v;
    return true;
  }
}
