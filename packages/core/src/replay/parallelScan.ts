import { closeSync, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { BlockRunner } from './blockRunners.js';
import { ownWorkerUrl, workerRunner } from './blockRunners.js';
import type { BlockResult, BlockTask } from './blockScanner.js';
import { readAt } from './blockScanner.js';
import { sniffInput } from './inputKind.js';
import type { ScanTradesOptions } from './scanTrades.js';
import { openTradeFile, scanTrades } from './scanTrades.js';
import { scanSequential } from './sequentialScan.js';
import type { ScannedBatch } from './tradeScanner.js';
import { TradeScanner } from './tradeScanner.js';

// The parts: blockScanner.ts (one block into columns), blockRunners.ts (worker
// threads or in-thread lanes), sequentialScan.ts (the single-thread path).

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
