import { Buffer } from 'node:buffer';
import type { DeadLetter } from '../events/deadLetter.js';
import { InvalidEvent } from '../events/trade.js';
import type { TradeColumns } from '../tradeColumns.js';
import { sideCode } from '../tradeColumns.js';
import { CsvFastPath, csvFieldCodes } from './csvFastPath.js';
import { NdjsonFastPath } from './ndjsonFastPath.js';
import { SLOW } from './scanBytes.js';
import { ScanRows } from './scanRows.js';
import { SymbolDictionary } from './symbolDictionary.js';
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

/**
 * Scans trade files (NDJSON or CSV) byte by byte, straight into typed-array
 * columns: no string per line, no JSON.parse, no object per trade. Lines the
 * scanner does not fully understand (escapes, ISO timestamps, exotic numbers,
 * quoted CSV, anything invalid) go to TradeLineParser, so every line gives
 * exactly the trade or the dead letter the line parser gives (property-tested
 * against it): the fast path only takes lines whose result it can prove.
 *
 * The parts: ndjsonFastPath.ts and csvFastPath.ts (the fast paths),
 * scanRows.ts (the columns being filled), symbolDictionary.ts (symbol ids
 * from bytes), scanBytes.ts (byte helpers); this class drives them.
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
  private readonly rows: ScanRows;
  private readonly symbols: SymbolDictionary;
  private readonly ndjson: NdjsonFastPath;
  /** The CSV fast path, once the header is read. */
  private csv: CsvFastPath | undefined;

  constructor({ format = 'auto', timeUnit = 'auto', symbols, origin = 'stream', firstLine = 0 }: TradeScannerOptions = {}) {
    this.parser = new TradeLineParser({ format, symbols, timeUnit });
    this.origin = origin;
    this.rows = new ScanRows(firstLine);
    this.symbols = new SymbolDictionary(symbols);
    this.ndjson = new NdjsonFastPath(this.rows, this.symbols, this.parser);
  }

  /** Lines scanned so far (including blank lines and the header), plus `firstLine`. */
  get line(): number {
    return this.rows.lineNo;
  }

  /** Rows waiting in the current batch. */
  get length(): number {
    return this.rows.n;
  }

  /** Dead letters waiting in the current batch. */
  get deadLetterCount(): number {
    return this.rows.dead.length;
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
    const rows = this.rows;
    let a = start;
    while (a < end) {
      rows.lineAt = offset + a;
      if (this.parser.detectedFormat === 'ndjson') {
        // The fast paths find the line's end themselves (no native call per line); SLOW falls back below.
        rows.lineNo++;
        const e = this.ndjson.line(buf, a, end);
        if (e !== SLOW && (e < end || final)) {
          a = e + 1;
          continue;
        }
        rows.lineNo--;
      } else if (this.csv !== undefined) {
        rows.lineNo++;
        const e = this.csv.fastCsv(buf, a, end);
        if (e !== SLOW && (e < end || final)) {
          a = e + 1;
          continue;
        }
        rows.lineNo--;
      }
      let nl = buf.indexOf(10, a);
      if (nl < 0 || nl >= end) {
        if (!final) throw new RangeError('TradeScanner.scan: the last line has no newline; pass final=true at the end of the input');
        nl = end;
      }
      rows.lineNo++;
      this.scanLine(buf, a, nl);
      a = nl + 1;
    }
  }

  /** Hands over the rows and dead letters scanned since the last take (the arrays are reused after the next one). */
  take(): ScannedBatch {
    return this.rows.take(this.symbols.dict);
  }

  private scanLine(buf: Uint8Array, a: number, b: number): void {
    // Lines reach here only when the fast paths left them (see scan).
    this.slowLine(buf, a, b);
  }

  // ---- slow path: the line parser ----

  private slowLine(buf: Uint8Array, a: number, b: number): void {
    const line = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', a, b);
    const r = this.parser.parseLine(line, this.rows.lineNo);
    if (this.csv === undefined && this.parser.header !== undefined) {
      this.csv = new CsvFastPath(csvFieldCodes(this.parser.header), this.rows, this.symbols, this.parser);
    }
    if (r === null) return;
    if (r instanceof InvalidEvent) {
      const input = line.length > MAX_DEAD_LINE ? `${line.slice(0, MAX_DEAD_LINE)}… (${line.length} characters)` : line;
      this.rows.dead.push({ reason: r.reason, input, origin: this.origin, line: this.rows.lineNo });
      return;
    }
    this.rows.push(this.symbols.symbolIdOf(r.symbol), r.ts, r.price, r.size, sideCode(r.side));
  }
}
