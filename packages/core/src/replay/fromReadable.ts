import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { TickflowError } from '../errors.js';
import type { Trade } from '../events/trade.js';
import { InvalidEvent } from '../events/trade.js';
import type { Source, SourceContext } from '../source.js';
import type { TradeFileFormat } from './tradeLineParser.js';
import { TradeLineParser } from './tradeLineParser.js';

/** Options of file and stream replay. */
export interface ReplayOptions {
  /** `'auto'` (default) decides from the first line: `{` is NDJSON, anything else a CSV header. */
  readonly format?: TradeFileFormat;
  /** When set, trades of other symbols are dead letters ("unknown symbol"). */
  readonly symbols?: ReadonlySet<string> | readonly string[];
  /** Most trades per batch. Default 4096. */
  readonly batchSize?: number;
  /** Source name in dead letters. */
  readonly name?: string;
}

/** Longest line kept in a dead letter (longer ones are cut, with a note). */
const MAX_DEAD_LINE = 4096;

async function* readLines(
  stream: NodeJS.ReadableStream,
  o: ReplayOptions,
  origin: string,
  ctx: SourceContext,
): AsyncGenerator<Trade[]> {
  const batchSize = o.batchSize ?? 4096;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TickflowError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  const symbols = o.symbols === undefined ? undefined : o.symbols instanceof Set ? (o.symbols as ReadonlySet<string>) : new Set(o.symbols as readonly string[]);
  const parser = new TradeLineParser({ format: o.format ?? 'auto', symbols });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  let batch: Trade[] = [];
  const onAbort = (): void => {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const take = (line: string): void => {
    lineNo++;
    const r = parser.parseLine(line, lineNo);
    if (r === null) return;
    if (r instanceof InvalidEvent) {
      const input = line.length > MAX_DEAD_LINE ? `${line.slice(0, MAX_DEAD_LINE)}… (${line.length} characters)` : line;
      ctx.deadLetter({ reason: r.reason, input, origin, line: lineNo });
      return;
    }
    batch.push(r);
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      if (ctx.signal.aborted) return;
      const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        take(text.slice(start, nl));
        start = nl + 1;
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      rest = text.slice(start);
      // Hand over what this chunk completed, so a live pipe (tail -f) is not held back.
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    if (ctx.signal.aborted) return;
    rest += decoder.end();
    if (rest.length > 0) take(rest);
    if (batch.length > 0) yield batch;
  } catch (e) {
    if (ctx.signal.aborted) return;
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Replays trades from a readable byte stream (stdin, a socket, an HTTP body),
 * NDJSON or CSV, streamed line by line: memory does not grow with the input.
 * Bad lines go to the dead-letter output with their line number and reason.
 *
 * @example
 * ```ts
 * await pipeline(fromReadable(process.stdin)).pipe(…).to(out).run();
 * ```
 */
export function fromReadable(stream: NodeJS.ReadableStream, options: ReplayOptions = {}): Source<Trade> {
  const name = options.name ?? 'stream';
  return { name, read: (ctx) => readLines(stream, options, name, ctx) };
}

/**
 * Replays trades from an NDJSON or CSV file (`.gz` files are decompressed),
 * streamed in chunks: a 2 GB file is never held in memory. Bad lines go to
 * the dead-letter output with their line number and reason.
 *
 * @example
 * ```ts
 * await pipeline(fromFile('trades.csv'), { outOfOrderness: '2s' })
 *   .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
 *   .to(console.log)
 *   .run();
 * ```
 */
export function fromFile(path: string, options: ReplayOptions = {}): Source<Trade> {
  const name = options.name ?? `file:${basename(path)}`;
  return {
    name,
    read(ctx) {
      const file = createReadStream(path, { highWaterMark: 1 << 16 });
      const stream = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
      if (stream !== file) file.on('error', (e) => (stream as NodeJS.ReadableStream & { destroy(err?: Error): void }).destroy(e));
      return readLines(stream, options, name, ctx);
    },
  };
}
