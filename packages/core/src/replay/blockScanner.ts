import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import type { DeadLetter } from '../events/deadLetter.js';
import type { TimeUnit } from './tradeLineParser.js';
import { TradeScanner } from './tradeScanner.js';

// One block of a trade file scanned into columns: what a lane of scanTradeFile
// (parallelScan.ts) does, on a worker thread or on the calling one.

/** What one block of a file holds once scanned: columns with the worker's own symbol ids, block-relative line numbers. */
export interface BlockResult {
  readonly index: number;
  /** Lines that start in the block. */
  readonly lineCount: number;
  /** The worker's symbol dictionary entries from `dictBase` on (new since its previous block). */
  readonly dictBase: number;
  readonly newSymbols: readonly string[];
  readonly length: number;
  readonly symbol: Uint32Array;
  readonly ts: Float64Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  readonly side: Uint8Array;
  readonly lines: Float64Array;
  /** File offset of each row's line. */
  readonly offsets: Float64Array;
  readonly deadLetters: readonly DeadLetter[];
}

/** How a block is described to a worker. */
export interface BlockTask {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  /** True for the block that ends the file (its last line may lack a newline). */
  readonly last: boolean;
}

/** Settings every worker shares. */
export interface ScanSettings {
  readonly path: string;
  readonly format: 'ndjson' | 'csv';
  /** The CSV header line (without newline), read by each worker first. */
  readonly header: string | undefined;
  readonly timeUnit: TimeUnit;
  readonly symbols: readonly string[] | undefined;
  readonly origin: string;
}

/** Reads `[pos, pos+len)` of an open file, fewer bytes at its end. */
export function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * A block-scanning lane: owns a TradeScanner (so the symbol dictionary grows
 * per lane) and scans the lines that start in each block it is given.
 */
export class BlockScanner {
  private readonly scanner: TradeScanner;
  private readonly fd: number;
  private dictSent = 0;

  constructor(private readonly s: ScanSettings) {
    this.scanner = new TradeScanner({ format: s.format, timeUnit: s.timeUnit, symbols: s.symbols === undefined ? undefined : new Set(s.symbols), origin: s.origin });
    if (s.header !== undefined) {
      const h = Buffer.from(`${s.header}\n`, 'utf8');
      this.scanner.scan(h, 0, h.length, false);
      this.scanner.take();
    }
    this.fd = openSync(s.path, 'r');
  }

  /** Scans one block: the lines whose first byte lies in [start, end). */
  scanBlock(task: BlockTask): BlockResult {
    const { start, end } = task;
    // Read one byte before the block (to see whether it starts a line) and a little past it (to finish its last line).
    const before = start > 0 ? 1 : 0;
    const extra = Math.min(65_536, Math.max(1024, end - start));
    let buf = readAt(this.fd, start - before, end - start + before + extra);
    let first: number;
    if (before === 0) first = 0;
    else {
      const nl = buf.indexOf(10);
      first = nl < 0 ? buf.length : nl + 1;
    }
    const blockEnd = end - start + before;
    let stop = blockEnd > 0 ? buf.indexOf(10, blockEnd - 1) : -1;
    while (stop < 0 && buf.length >= blockEnd + extra) {
      // The last line runs past what was read: read more.
      const more = readAt(this.fd, start - before + buf.length, 1 << 20);
      if (more.length === 0) break;
      const from = buf.length;
      buf = Buffer.concat([buf, more]);
      stop = buf.indexOf(10, from);
    }
    const scanner = this.scanner;
    const lineBase = scanner.line;
    if (first < blockEnd) {
      if (stop >= 0) scanner.scan(buf, first, stop + 1, false, start - before);
      else scanner.scan(buf, first, buf.length, true, start - before);
    }
    const lineCount = scanner.line - lineBase;
    const batch = scanner.take();
    const cols = batch.columns;
    const lines = batch.lines.slice();
    for (let i = 0; i < lines.length; i++) lines[i]! -= lineBase;
    const dead = batch.deadLetters.map((d) => ({ ...d, line: d.line === undefined ? undefined : d.line - lineBase }));
    const dict = cols.symbols;
    const dictBase = this.dictSent;
    const newSymbols = dict.slice(dictBase);
    this.dictSent = dict.length;
    return {
      index: task.index,
      lineCount,
      dictBase,
      newSymbols,
      length: cols.length,
      symbol: (cols.symbol as Uint32Array).slice(),
      ts: cols.ts.slice(),
      price: cols.price.slice(),
      size: cols.size.slice(),
      side: cols.side!.slice(),
      lines,
      offsets: batch.offsets.slice(),
      deadLetters: dead,
    };
  }

  close(): void {
    closeSync(this.fd);
  }
}
