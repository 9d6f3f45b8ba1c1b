import { Buffer } from 'node:buffer';
import type { DeadLetter } from '../events/deadLetter.js';
import { MAX_SYMBOL_LENGTH } from '../events/symbol.js';
import { InvalidEvent } from '../events/trade.js';
import type { TradeColumns } from '../tradeColumns.js';
import { SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN, sideCode } from '../tradeColumns.js';
import type { TimeUnit, TimeUnitOption, TradeFileFormat } from './tradeLineParser.js';
import { TradeLineParser } from './tradeLineParser.js';

/** Options of a TradeScanner. */
export interface TradeScannerOptions {
  /** `'auto'` (default): the first non-empty line decides (`{` NDJSON, else a CSV header). */
  readonly format?: TradeFileFormat;
  /** Unit of numeric timestamps; `'auto'` (default) detects it from the first trade (see detectTimeUnit). */
  readonly timeUnit?: TimeUnitOption;
  /** When set, trades of other symbols are dead letters ("unknown symbol"). */
  readonly symbols?: ReadonlySet<string> | undefined;
  /** Origin named in dead letters. Default `'stream'`. */
  readonly origin?: string;
  /** Line number of the first line scanned, minus one (when scanning from the middle of a file). Default 0. */
  readonly firstLine?: number;
}

/** A scanned batch: trades as columns, the line number of each row, and the bad lines. */
export interface ScannedBatch {
  /** The trades (ts in epoch ms); arrays are reused by the scanner after its next `take()`. */
  readonly columns: TradeColumns;
  /** 1-based line number of each row. */
  readonly lines: Float64Array;
  /** Byte offset in the input of each row's line (NaN where the caller gave no offset to `scan`), to read the line again. */
  readonly offsets: Float64Array;
  /** Bad lines with their line number and reason, as the line parser reports them. */
  readonly deadLetters: readonly DeadLetter[];
}

/** Longest line kept in a dead letter (longer ones are cut, with a note). */
const MAX_DEAD_LINE = 4096;

// Field codes of the known keys and CSV columns.
const F_SYMBOL = 1, F_TS = 2, F_PRICE = 3, F_SIZE = 4, F_SIDE = 5, F_ID = 6, F_BID = 7, F_ASK = 8, F_OTHER = 0;

/** Powers of ten that are exact doubles (10^0 … 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Most digits of a number parsed by the fast path: the mantissa stays below 2^53. */
const MAX_FAST_DIGITS = 15;

/** Sentinel: the fast path cannot read this line; the line parser decides. */
const SLOW = -1;

/** Lines the learned NDJSON shape misses (and fastJson takes) before it is learned again from the next such line. */
const SHAPE_RELEARN = 16;

/**
 * Scans trade files (NDJSON or CSV) byte by byte, straight into typed-array
 * columns: no string per line, no JSON.parse, no object per trade. Lines the
 * scanner does not fully understand (escapes, ISO timestamps, exotic numbers,
 * quoted CSV, anything invalid) go to TradeLineParser, so every line gives
 * exactly the trade or the dead letter the line parser gives (property-tested
 * against it): the fast path only takes lines whose result it can prove.
 *
 * @example
 * ```ts
 * const scanner = new TradeScanner({ format: 'auto' });
 * scanner.scan(Buffer.from('{"symbol":"AAPL","ts":1705660245123,"price":150.25,"size":100}\n'), 0, 64, false);
 * const { columns, lines, deadLetters } = scanner.take();
 * job.pushColumns(columns);
 * ```
 */
export class TradeScanner {
  /** The line parser: decides the format, reads the CSV header and every line the fast path leaves. */
  readonly parser: TradeLineParser;
  private readonly origin: string;
  private readonly allowed: ReadonlySet<string> | undefined;
  private lineNo: number;
  private n = 0;
  private cap = 0;
  private sym = new Uint32Array(0);
  private tsCol = new Float64Array(0);
  private priceCol = new Float64Array(0);
  private sizeCol = new Float64Array(0);
  private sideCol = new Uint8Array(0);
  private lineCol = new Float64Array(0);
  private offCol = new Float64Array(0);
  /** Input offset of the line being scanned. */
  private lineAt = NaN;
  private dead: DeadLetter[] = [];
  // Symbol dictionary: open addressing over the symbol bytes (one string per distinct symbol).
  private readonly dict: string[] = [];
  private readonly ids = new Map<string, number>();
  private dictAllowed = new Uint8Array(64);
  private table = new Int32Array(256).fill(-1);
  private hashes = new Int32Array(64);
  private pool = new Uint8Array(64 * MAX_SYMBOL_LENGTH);
  private lens = new Uint8Array(64);
  // CSV: field code per column once the header is read.
  private csvCodes: Int8Array | undefined;
  // Per-line scratch of the NDJSON fast path.
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

  constructor({ format = 'auto', timeUnit = 'auto', symbols, origin = 'stream', firstLine = 0 }: TradeScannerOptions = {}) {
    this.parser = new TradeLineParser({ format, symbols, timeUnit });
    this.origin = origin;
    this.allowed = symbols;
    this.lineNo = firstLine;
    this.ensure(4096);
  }

  /** Lines scanned so far (including blank lines and the header), plus `firstLine`. */
  get line(): number {
    return this.lineNo;
  }

  /** Rows waiting in the current batch. */
  get length(): number {
    return this.n;
  }

  /** Dead letters waiting in the current batch. */
  get deadLetterCount(): number {
    return this.dead.length;
  }

  /** The unit numeric timestamps are read in, once known. */
  get timeUnit(): TimeUnit | undefined {
    return this.parser.timeUnit;
  }

  /**
   * Scans the lines of `buf[start, end)`. Every `\n` ends a line; the bytes
   * after the last one form a line only when `final` (the end of the input),
   * otherwise they must not be passed (the caller keeps them for the next
   * chunk). `offset` is the input offset of `buf[0]` (a file position),
   * kept per row in `offsets`. Throws a TickflowError for a CSV header
   * without the needed columns.
   */
  scan(buf: Uint8Array, start: number, end: number, final: boolean, offset = NaN): void {
    let a = start;
    while (a < end) {
      this.lineAt = offset + a;
      if (this.parser.detectedFormat === 'ndjson') {
        // The fast paths find the line's end themselves (no native call per line); SLOW falls back below.
        this.lineNo++;
        let e = this.shapeCount >= 0 ? this.fastShape(buf, a, end) : SLOW;
        if (e === SLOW) {
          e = this.fastJson(buf, a, end);
          if (e !== SLOW && (this.shapeCount < 0 || ++this.shapeMisses > SHAPE_RELEARN)) this.learnShape(buf, a, e);
        }
        if (e !== SLOW && (e < end || final)) {
          a = e + 1;
          continue;
        }
        this.lineNo--;
      } else if (this.csvCodes !== undefined) {
        this.lineNo++;
        const e = this.fastCsv(buf, a, end);
        if (e !== SLOW && (e < end || final)) {
          a = e + 1;
          continue;
        }
        this.lineNo--;
      }
      let nl = buf.indexOf(10, a);
      if (nl < 0 || nl >= end) {
        if (!final) throw new RangeError('TradeScanner.scan: the last line has no newline; pass final=true at the end of the input');
        nl = end;
      }
      this.lineNo++;
      this.scanLine(buf, a, nl);
      a = nl + 1;
    }
  }

  /** Hands over the rows and dead letters scanned since the last take (the arrays are reused after the next one). */
  take(): ScannedBatch {
    const n = this.n;
    const batch: ScannedBatch = {
      columns: {
        length: n,
        symbols: this.dict,
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

  private scanLine(buf: Uint8Array, a: number, b: number): void {
    // Lines reach here only when the fast paths left them (see scan).
    this.slowLine(buf, a, b);
  }

  // ---- slow path: the line parser ----

  private slowLine(buf: Uint8Array, a: number, b: number): void {
    const line = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', a, b);
    const r = this.parser.parseLine(line, this.lineNo);
    if (this.csvCodes === undefined && this.parser.header !== undefined) this.readHeader(this.parser.header);
    if (r === null) return;
    if (r instanceof InvalidEvent) {
      const input = line.length > MAX_DEAD_LINE ? `${line.slice(0, MAX_DEAD_LINE)}… (${line.length} characters)` : line;
      this.dead.push({ reason: r.reason, input, origin: this.origin, line: this.lineNo });
      return;
    }
    this.push(this.symbolIdOf(r.symbol), r.ts, r.price, r.size, sideCode(r.side));
  }

  private readHeader(header: readonly string[]): void {
    const codes = new Int8Array(header.length);
    for (let i = 0; i < header.length; i++) {
      const name = header[i]!;
      codes[i] = name === 'symbol' ? F_SYMBOL : name === 'ts' ? F_TS : name === 'price' ? F_PRICE : name === 'size' ? F_SIZE
        : name === 'side' ? F_SIDE : name === 'id' ? F_ID : name === 'bid' ? F_BID : name === 'ask' ? F_ASK : F_OTHER;
    }
    this.csvCodes = codes;
  }

  // ---- rows ----

  private push(symbolId: number, ts: number, price: number, size: number, side: number): void {
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

  // ---- symbols ----

  /** Dictionary id of a symbol given as a string (slow path). */
  private symbolIdOf(symbol: string): number {
    const id = this.ids.get(symbol);
    if (id !== undefined) return id;
    const bytes = Buffer.from(symbol, 'latin1');
    return this.addSymbol(symbol, bytes, 0, bytes.length, hashBytes(bytes, 0, bytes.length));
  }

  /**
   * Dictionary id of the printable-ASCII symbol in `buf[a, b)`, or SLOW when
   * the symbol list rejects it (the line parser writes that dead letter).
   */
  private symbolIdAt(buf: Uint8Array, a: number, b: number): number {
    const h = hashBytes(buf, a, b);
    const table = this.table;
    const mask = table.length - 1;
    const len = b - a;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = table[slot]!;
      if (id < 0) break;
      if (this.hashes[id] !== h || this.lens[id] !== len) continue;
      const base = id * MAX_SYMBOL_LENGTH;
      let k = 0;
      while (k < len && this.pool[base + k] === buf[a + k]) k++;
      if (k === len) return this.dictAllowed[id] === 1 ? id : SLOW;
    }
    const symbol = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', a, b);
    const existing = this.ids.get(symbol);
    // Known from the slow path but not yet in the byte table: add it there.
    const id = this.addSymbol(symbol, buf, a, b, h, existing);
    return this.dictAllowed[id] === 1 ? id : SLOW;
  }

  private addSymbol(symbol: string, buf: Uint8Array, a: number, b: number, h: number, existing?: number): number {
    let id = existing;
    if (id === undefined) {
      id = this.dict.length;
      this.dict.push(symbol);
      this.ids.set(symbol, id);
      if (id >= this.hashes.length) {
        const cap = this.hashes.length * 2;
        const hashes = new Int32Array(cap); hashes.set(this.hashes); this.hashes = hashes;
        const lens = new Uint8Array(cap); lens.set(this.lens); this.lens = lens;
        const allowed = new Uint8Array(cap); allowed.set(this.dictAllowed); this.dictAllowed = allowed;
        const pool = new Uint8Array(cap * MAX_SYMBOL_LENGTH); pool.set(this.pool); this.pool = pool;
      }
      this.dictAllowed[id] = this.allowed === undefined || this.allowed.has(symbol) ? 1 : 0;
    }
    const len = b - a;
    if (len > MAX_SYMBOL_LENGTH) return id; // never looked up by bytes (the fast path only takes valid symbols)
    this.hashes[id] = h;
    this.lens[id] = len;
    this.pool.set(buf.subarray(a, b), id * MAX_SYMBOL_LENGTH);
    if ((this.dict.length + 1) * 2 > this.table.length) this.rehash();
    else this.insert(id, h);
    return id;
  }

  private insert(id: number, h: number): void {
    const table = this.table;
    const mask = table.length - 1;
    let slot = h & mask;
    while (table[slot]! >= 0) slot = (slot + 1) & mask;
    table[slot] = id;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2).fill(-1);
    for (let id = 0; id < this.dict.length; id++) if (this.lens[id] !== 0) this.insert(id, this.hashes[id]!);
  }

  // ---- NDJSON fast path ----

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
    const id = this.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.push(id, ms, price, size, side);
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
    const id = this.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.push(id, ms, price, size, side);
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

  // ---- CSV fast path ----

  /**
   * Reads one CSV row starting at `a` (no quotes, no spaces around numbers)
   * into the columns; returns the index of the newline that ends it (or `b`,
   * the end of the chunk), SLOW for anything else.
   */
  private fastCsv(buf: Uint8Array, a: number, b: number): number {
    const codes = this.csvCodes!;
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
    const id = this.symbolIdAt(buf, symA, symB);
    if (id === SLOW) return SLOW;
    const ms = this.parser.scaleTime(ts);
    if (ms - ms !== 0) return SLOW;
    this.push(id, ms, price, size, side);
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

/** Skips JSON whitespace within a line (a newline ends the line, so it is not skipped). */
function skipWs(buf: Uint8Array, i: number, b: number): number {
  while (i < b) {
    const c = buf[i]!;
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

function hashBytes(buf: Uint8Array, a: number, b: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 16777619);
  return h & 0x7fffffff;
}

/** Bytes 0x21–0x7e only: a valid symbol as is (the line parser would accept it unchanged). */
function printable(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** An id the CSV path keeps unchanged by trim(): printable ASCII, spaces only inside. */
function printableOrSpaceInside(buf: Uint8Array, a: number, b: number): boolean {
  if (buf[a] === 32 || buf[b - 1] === 32) return false;
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** NDJSON side: exactly "buy" or "sell" (other spellings take the line parser's path). */
function sideWord(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  if (n === 3 && buf[a] === 98 && buf[a + 1] === 117 && buf[a + 2] === 121) return SIDE_BUY;
  if (n === 4 && buf[a] === 115 && buf[a + 1] === 101 && buf[a + 2] === 108 && buf[a + 3] === 108) return SIDE_SELL;
  return SLOW;
}

/** CSV side as toSide reads it: buy, b, sell, s in any case. */
function sideCode2(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  const c0 = buf[a]! | 0x20;
  if (n === 1) return c0 === 98 ? SIDE_BUY : c0 === 115 ? SIDE_SELL : SLOW;
  if (n === 3 && c0 === 98 && (buf[a + 1]! | 0x20) === 117 && (buf[a + 2]! | 0x20) === 121) return SIDE_BUY;
  if (n === 4 && c0 === 115 && (buf[a + 1]! | 0x20) === 101 && (buf[a + 2]! | 0x20) === 108 && (buf[a + 3]! | 0x20) === 108) return SIDE_SELL;
  return SLOW;
}

/** Field code of an NDJSON key in `buf[a, b)`: by length and first byte, then the rest compared. */
function keyField(buf: Uint8Array, a: number, b: number): number {
  const n = b - a;
  const c = buf[a]!;
  switch (n) {
    case 1:
      return c === 115 ? F_SYMBOL : c === 116 ? F_TS : c === 112 ? F_PRICE : F_OTHER; // s t p
    case 2:
      if (c === 116) return buf[a + 1] === 115 ? F_TS : F_OTHER; // ts
      if (c === 105) return buf[a + 1] === 100 ? F_ID : F_OTHER; // id
      return F_OTHER;
    case 3:
      if (c === 115) return same(buf, a, K_SYM) ? F_SYMBOL : F_OTHER;
      if (c === 113) return same(buf, a, K_QTY) ? F_SIZE : F_OTHER;
      if (c === 98) return same(buf, a, K_BID) ? F_BID : F_OTHER;
      if (c === 97) return same(buf, a, K_ASK) ? F_ASK : F_OTHER;
      return F_OTHER;
    case 4:
      if (c === 116) return same(buf, a, K_TIME) ? F_TS : F_OTHER;
      if (c === 115) return same(buf, a, K_SIZE) ? F_SIZE : same(buf, a, K_SIDE) ? F_SIDE : F_OTHER;
      return F_OTHER;
    case 5:
      return c === 112 && same(buf, a, K_PRICE) ? F_PRICE : F_OTHER;
    case 6:
      if (c === 115) return same(buf, a, K_SYMBOL) ? F_SYMBOL : F_OTHER;
      if (c === 118) return same(buf, a, K_VOLUME) ? F_SIZE : F_OTHER;
      return F_OTHER;
    case 7:
      return c === 116 && same(buf, a, K_TRADEID) ? F_ID : F_OTHER;
    case 8:
      if (c === 113) return same(buf, a, K_QUANTITY) ? F_SIZE : F_OTHER;
      if (c === 116) return same(buf, a, K_TRADE_ID) ? F_ID : F_OTHER;
      return F_OTHER;
    case 9:
      return c === 116 && same(buf, a, K_TIMESTAMP) ? F_TS : F_OTHER;
    default:
      return F_OTHER;
  }
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const K_SYM = ascii('sym'), K_QTY = ascii('qty'), K_BID = ascii('bid'), K_ASK = ascii('ask');
const K_TIME = ascii('time'), K_SIZE = ascii('size'), K_SIDE = ascii('side'), K_PRICE = ascii('price');
const K_SYMBOL = ascii('symbol'), K_VOLUME = ascii('volume'), K_TRADEID = ascii('tradeId');
const K_QUANTITY = ascii('quantity'), K_TRADE_ID = ascii('trade_id'), K_TIMESTAMP = ascii('timestamp');

function same(buf: Uint8Array, a: number, key: Uint8Array): boolean {
  for (let j = 1; j < key.length; j++) if (buf[a + j] !== key[j]) return false;
  return true;
}
