import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { DeadLetter } from '../events/deadLetter.js';
import { sniffInput } from './inputKind.js';
import type { ScanTradesOptions } from './scanTrades.js';
import { openTradeFile, scanTrades } from './scanTrades.js';
import type { TimeUnit } from './tradeLineParser.js';
import type { ScannedBatch } from './tradeScanner.js';
import { TradeScanner } from './tradeScanner.js';

/** Options of scanTradeFile. */
export interface ScanTradeFileOptions extends ScanTradesOptions {
  /** Parsing threads (worker_threads), at most 8 (`availableParallelism()` for every core). Default 1: on the calling thread (see benchmarks/README.md: worker start-up costs more than it saves on a busy 2-core machine). */
  readonly workers?: number;
  /** Bytes per block handed to a worker. Default 4 MiB. */
  readonly blockBytes?: number;
  /** Bytes scanned on the calling thread first, to learn the format, the CSV header and the time unit. Default 1 MiB. */
  readonly prologueBytes?: number;
  /** Files smaller than this are scanned on the calling thread. Default 16 MiB. */
  readonly minParallelBytes?: number;
  /**
   * Runs a block (tests use an in-thread runner); default: worker threads
   * started from this module's own file.
   */
  readonly runner?: BlockRunner;
}

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

/** Runs blocks somewhere (worker threads, or in-thread for tests): one lane per worker, blocks in order within a lane. */
export interface BlockRunner {
  start(settings: ScanSettings, lanes: number): Promise<BlockLanes>;
}

/** Started lanes. */
export interface BlockLanes {
  /** Queues a block on a lane; resolves with its result. */
  run(lane: number, task: BlockTask): Promise<BlockResult>;
  /** Stops every lane. */
  close(): Promise<void>;
}

/** Read size of the sequential path: one reused buffer, large enough to keep the scanner in its loop. */
const SEQUENTIAL_CHUNK = 1 << 20;

/** Reads `[pos, pos+len)` of an open file, fewer bytes at its end. */
function readAt(fd: number, pos: number, len: number): Buffer {
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

/** Lanes on the calling thread (for tests and for single-core machines). */
export const inThreadRunner: BlockRunner = {
  start(settings, lanes) {
    const scanners = Array.from({ length: lanes }, () => new BlockScanner(settings));
    return Promise.resolve({
      run: (lane, task) => Promise.resolve(scanners[lane]!.scanBlock(task)),
      close: () => {
        for (const s of scanners) s.close();
        return Promise.resolve();
      },
    });
  },
};

const WORKER_FLAG = 'tickflowTradeScanWorker';

/** Worker threads started from this module's file (the built one: sources under a TypeScript loader cannot be started as workers). */
function workerRunner(moduleUrl: string): BlockRunner {
  return {
    start(settings, lanes) {
      const workers: Worker[] = [];
      const pending: Map<number, { resolve: (r: BlockResult) => void; reject: (e: Error) => void }>[] = [];
      for (let lane = 0; lane < lanes; lane++) {
        const w = new Worker(new URL(moduleUrl), { workerData: { [WORKER_FLAG]: true, settings } });
        const waiting = new Map<number, { resolve: (r: BlockResult) => void; reject: (e: Error) => void }>();
        w.on('message', (m: BlockResult | { index: number; error: string }) => {
          const p = waiting.get(m.index);
          waiting.delete(m.index);
          if ('error' in m) p?.reject(new Error(m.error));
          else p?.resolve(m);
        });
        const failAll = (e: Error): void => {
          for (const p of waiting.values()) p.reject(e);
          waiting.clear();
        };
        w.on('error', failAll);
        w.on('exit', (code) => {
          if (waiting.size > 0) failAll(new Error(`trade scan worker exited with code ${code}`));
        });
        workers.push(w);
        pending.push(waiting);
      }
      return Promise.resolve({
        run(lane, task) {
          return new Promise<BlockResult>((resolve, reject) => {
            pending[lane]!.set(task.index, { resolve, reject });
            workers[lane]!.postMessage(task);
          });
        },
        async close() {
          await Promise.all(workers.map((w) => w.terminate()));
        },
      });
    },
  };
}

// The worker side: this same module, started with the flag in workerData.
if (!isMainThread && parentPort !== null && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true) {
  const port = parentPort;
  const scanner = new BlockScanner((workerData as { settings: ScanSettings }).settings);
  port.on('message', (task: BlockTask) => {
    try {
      const r = scanner.scanBlock(task);
      port.postMessage(r, [r.symbol.buffer, r.ts.buffer, r.price.buffer, r.size.buffer, r.side.buffer, r.lines.buffer, r.offsets.buffer] as ArrayBuffer[]);
    } catch (e) {
      port.postMessage({ index: task.index, error: e instanceof Error ? e.message : String(e) });
    }
  });
}

/** This module's own URL when it can be started as a worker (a built .js file), else undefined. */
function ownWorkerUrl(): string | undefined {
  try {
    const url = import.meta.url;
    return typeof url === 'string' && /\.m?js$/.test(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a trade file like `scanTrades`, parsing on every core: the file is
 * cut into blocks at line boundaries, worker threads scan blocks ahead into
 * columns (sent back as transferable typed arrays), and the batches are
 * yielded in file order with their true line numbers, so a pipeline fed from
 * them decides lateness exactly as a single ordered pass does (windowing
 * stays on the calling thread). Compressed inputs, small files and
 * single-core machines are scanned on the calling thread.
 *
 * @example
 * ```ts
 * for await (const { columns } of scanTradeFile('trades.ndjson')) job.pushColumns(columns);
 * await job.end();
 * ```
 */
export async function* scanTradeFile(path: string, options: ScanTradeFileOptions = {}): AsyncGenerator<ScannedBatch> {
  const { signal, onBytes } = options;
  const workers = Math.max(1, Math.min(8, options.workers ?? 1));
  const blockBytes = options.blockBytes ?? 4 << 20;
  const size = (await stat(path)).size;
  const url = ownWorkerUrl();
  const runner = options.runner ?? (url === undefined ? undefined : workerRunner(url));
  let kind = 'text';
  if (size > 0) {
    const fd = openSync(path, 'r');
    try {
      kind = sniffInput(readAt(fd, 0, 8));
    } finally {
      closeSync(fd);
    }
  }
  if (kind !== 'text') {
    // Compressed (or refused) input: the stream path decompresses or names the format.
    yield* scanTrades(openTradeFile(path), options);
    return;
  }
  if (workers < 2 || runner === undefined || size < (options.minParallelBytes ?? 16 << 20)) {
    yield* scanSequential(path, 0, new TradeScanner({ ...options, origin: options.origin ?? 'stream' }), options);
    return;
  }

  // Prologue on this thread: the format, the CSV header and the time unit come from the first lines.
  const origin = options.origin ?? 'stream';
  const main = new TradeScanner({ ...options, origin });
  const fd = openSync(path, 'r');
  let pos: number;
  let header: string | undefined;
  try {
    let buf = readAt(fd, 0, Math.min(size, Math.max(1, options.prologueBytes ?? 1 << 20)));
    let nl = buf.lastIndexOf(10);
    while (nl < 0 && buf.length < size) {
      buf = readAt(fd, 0, Math.min(size, buf.length * 2));
      nl = buf.lastIndexOf(10);
    }
    pos = nl < 0 ? buf.length : nl + 1;
    if (nl < 0) main.scan(buf, 0, buf.length, true, 0);
    else {
      // The header line (CSV) is passed to the workers as text.
      const firstNl = buf.indexOf(10);
      main.scan(buf, 0, pos, false, 0);
      if (main.parser.detectedFormat === 'csv') header = firstHeaderLine(buf, firstNl);
    }
  } finally {
    closeSync(fd);
  }
  onBytes?.(pos);
  const format = main.parser.detectedFormat;
  const unit = main.timeUnit;
  const firstBatch = main.take();
  if (format === undefined || unit === undefined || pos >= size || (format === 'csv' && header === undefined)) {
    // Nothing to learn the unit from in the first MiB (or nothing left): go on on this thread.
    yield firstBatch;
    if (pos < size) yield* scanSequential(path, pos, main, options);
    return;
  }
  const lineOffset0 = main.line;
  yield firstBatch;
  if (isAborted(signal)) return;

  const symbols = options.symbols === undefined ? undefined : [...options.symbols];
  const lanes = await runner.start({ path, format, header, timeUnit: unit, symbols, origin }, workers);
  const dict = firstBatch.columns.symbols as string[];
  const dictIds = new Map<string, number>(dict.map((s, i) => [s, i]));
  const remap: Int32Array[] = Array.from({ length: workers }, () => new Int32Array(0));
  const tasks: BlockTask[] = [];
  for (let s = pos; s < size; s += blockBytes) tasks.push({ index: tasks.length, start: s, end: Math.min(size, s + blockBytes), last: s + blockBytes >= size });
  const inflight = new Map<number, Promise<BlockResult>>();
  const ahead = 3;
  let next = 0;
  const submit = (): void => {
    while (next < tasks.length && next < consumed + workers * ahead) {
      const t = tasks[next]!;
      const p = lanes.run(t.index % workers, t);
      p.catch(() => undefined);
      inflight.set(t.index, p);
      next++;
    }
  };
  let consumed = 0;
  let lineOffset = lineOffset0;
  try {
    submit();
    while (consumed < tasks.length) {
      if (isAborted(signal)) return;
      const r = await inflight.get(consumed)!;
      inflight.delete(consumed);
      const lane = consumed % workers;
      const t = tasks[consumed]!;
      consumed++;
      submit();
      // Worker symbol ids → this thread's dictionary (one array, so windowing keeps its key cache).
      let map = remap[lane]!;
      if (r.newSymbols.length > 0) {
        const grown = new Int32Array(r.dictBase + r.newSymbols.length);
        grown.set(map.subarray(0, r.dictBase));
        for (let i = 0; i < r.newSymbols.length; i++) {
          const s = r.newSymbols[i]!;
          let id = dictIds.get(s);
          if (id === undefined) {
            id = dict.length;
            dict.push(s);
            dictIds.set(s, id);
          }
          grown[r.dictBase + i] = id;
        }
        map = remap[lane] = grown;
      }
      const sym = r.symbol;
      for (let i = 0; i < r.length; i++) sym[i] = map[sym[i]!]!;
      const lines = r.lines;
      for (let i = 0; i < r.length; i++) lines[i]! += lineOffset;
      const dead = r.deadLetters.map((d) => ({ ...d, line: d.line === undefined ? undefined : d.line + lineOffset }));
      lineOffset += r.lineCount;
      onBytes?.(t.end - t.start);
      yield {
        columns: { length: r.length, symbols: dict, symbol: sym, ts: r.ts, price: r.price, size: r.size, side: r.side },
        lines,
        offsets: r.offsets,
        deadLetters: dead,
      };
    }
  } finally {
    await lanes.close();
  }
}

/** Read through a function: the signal may abort while the generator is suspended. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function firstHeaderLine(buf: Buffer, firstNl: number): string | undefined {
  // The header is the first non-blank line (blank lines before it are skipped by the parser).
  let a = 0;
  let nl = firstNl;
  while (nl >= 0) {
    const line = buf.toString('utf8', a, nl);
    if (line.trim().length > 0) return line;
    a = nl + 1;
    nl = buf.indexOf(10, a);
  }
  return undefined;
}

/** Chunks read between two turns of the event loop on the sequential path (timers and signals run then). */
const CHUNKS_PER_TURN = 8;

/**
 * Scans a plain text file from byte `pos` to its end on this thread with the
 * given scanner: synchronous reads into one reused buffer (no allocation per
 * chunk, no thread-pool round trip), lines cut by a chunk carried over by
 * moving them to the front. Batches of at least `minBatch` rows.
 */
async function* scanSequential(path: string, pos: number, scanner: TradeScanner, options: ScanTradesOptions): AsyncGenerator<ScannedBatch> {
  const minBatch = options.minBatch ?? 16_384;
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(SEQUENTIAL_CHUNK);
    let carry = 0;
    for (let chunk = 1; ; chunk++) {
      if (options.signal?.aborted === true) return;
      if (carry === buf.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, carry);
        buf = bigger;
      }
      const n = readSync(fd, buf, carry, buf.length - carry, pos);
      const at = pos - carry; // file offset of buf[0]
      pos += n;
      options.onBytes?.(n);
      const end = carry + n;
      if (n === 0) {
        if (end > 0) scanner.scan(buf, 0, end, true, at);
        yield scanner.take();
        return;
      }
      const nl = buf.lastIndexOf(10, end - 1);
      if (nl >= 0) {
        scanner.scan(buf, 0, nl + 1, false, at);
        buf.copy(buf, 0, nl + 1, end);
        carry = end - nl - 1;
      } else {
        carry = end;
      }
      if (scanner.length >= minBatch || scanner.deadLetterCount >= 1024) yield scanner.take();
      if (chunk % CHUNKS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}
