import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { DeadLetter, LateEvent, Source, Trade, TradeColumns } from '@tickflow/core';
import { TickflowError, parseDuration, pipeline } from '@tickflow/core';
import type { TimeUnitOption } from '@tickflow/core/replay';
import { parseTimeUnit, scanTradeFile, scanTrades } from '@tickflow/core/replay';
import type { AggregationKind } from './aggregation.js';
import { aggregationOperators } from './aggregation.js';
import { LateLineMatcher } from './backfill/lateLineMatcher.js';
import { LineReader } from './backfill/lineReader.js';
import { ProgressMeter } from './backfill/progressMeter.js';
import { ReportLimiter } from './backfill/reportLimiter.js';
import type { ResultFormat } from './backfill/resultOutput.js';
import { openResultOutput, parseResultFormat } from './backfill/resultOutput.js';
import type { TableTradeBatch } from './backfill/columnarInput.js';
import { columnarFormatOf, readTableTrades } from './backfill/columnarInput.js';

/** Input formats `tickflow aggregate` reads. */
export type AggregateInputFormat = 'auto' | 'ndjson' | 'csv' | 'parquet' | 'arrow';

/** Options of `tickflow aggregate` after parsing. */
export interface AggregateOptions {
  readonly timeframes: string[];
  readonly kind: AggregationKind;
  readonly outOfOrderness: string;
  readonly grace: string;
  readonly profileStep: number;
  readonly input: string | undefined;
  readonly format: AggregateInputFormat;
  /** Unit of numeric timestamps; `auto` (default) detects it from the first trade. */
  readonly timeUnit?: TimeUnitOption;
  /** Result format: ndjson (default), csv or parquet. */
  readonly output?: ResultFormat;
  /** Result file (default stdout; parquet needs a file). */
  readonly outFile?: string | undefined;
  /** A store URL (clickhouse://…, postgres://…): results are written there instead of stdout. */
  readonly to?: string | undefined;
  /** Late trades and bad lines reported one by one before the rest is summarised. Default 100. */
  readonly maxReports?: number;
  /** Parsing threads for files (default 1: the main thread). */
  readonly threads?: number | undefined;
  /** Progress on stderr: true always, false never, undefined when stderr is a terminal. */
  readonly progress?: boolean | undefined;
}

/** Where the command writes. */
export interface AggregateIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env?: NodeJS.ProcessEnv;
}

/** The options `tickflow aggregate --help` prints. */
export const AGGREGATE_HELP = `Usage: tickflow aggregate [options]

Reads trades (NDJSON or CSV, plain, gzip or zstd, from a file or stdin, streamed; Parquet and
Arrow IPC files), aggregates them into event-time windows per symbol and writes the results.

Input:
  --input FILE             trades file (default: stdin). NDJSON and CSV may be gzip (.gz) or
                           zstd (.zst) compressed: detected from the first bytes. Parquet and
                           Arrow IPC (file or stream) files are recognised by their magic bytes
  --format FORMAT          auto | ndjson | csv | parquet | arrow (default auto: the first bytes
                           decide; for text { is NDJSON, else a CSV header)
  --time-unit UNIT         auto | s | ms | us | ns: unit of numeric timestamps (default auto: from
                           the first trade's magnitude, ≥1e17 ns, ≥1e14 us, ≥1e11 ms, ≥1e8 s;
                           smaller values are read as ms). ISO-8601 strings are always absolute;
                           Parquet/Arrow timestamp columns carry their own unit

Windows:
  --timeframe LIST         timeframes, comma separated, e.g. 1m or 1m,5m,1h (default 1m);
                           larger ones are rolled up from the smallest
  --kind KIND              candles | profile | ticks (default candles)
  --out-of-orderness DUR   allowed disorder of event times, e.g. 2s (default 0s)
  --grace DUR              how long a closed window still takes late trades (default 0s)
  --profile-step STEP      price step of volume-profile levels (default 0.05)

Output:
  --output FORMAT          ndjson | csv | parquet (default ndjson; csv for candles and tick
                           counts; parquet needs --out)
  --out FILE               write results to FILE instead of stdout
  --to URL                 write results into a store instead: clickhouse://host:8123[/database]
                           or postgres://user:password@host:5432/database[?schema=name]; tables
                           are created when missing and writes are idempotent (a rerun of the
                           same backfill leaves the rows of one run)
  --max-reports N          late trades and bad lines reported one by one on stderr, each with
                           its line (or table row) number and reason, before the rest is
                           summarised (default 100)
  --threads N              parsing threads for a file (default 1; windows are always computed in
                           file order on the main thread, so results and lateness do not depend on it)
  --progress / --no-progress
                           progress on stderr (bytes, trades/s, ETA); default: when stderr is a terminal
  -h, --help               this help

Results: one object per line (NDJSON); for candles the fields symbol, timeframe, start, end, open,
high, low, close, volume, trades, vwap, buyVolume, sellVolume, final, rev (start/end in UTC
epoch ms). Input records: {symbol, ts|timestamp, price, size|volume, side?, id?, bid?, ask?};
CSV with a header naming those columns, Parquet and Arrow with columns of those names. A
summary line ends stderr.
`;

/**
 * Parses \`tickflow aggregate\` flags and runs it; prints its own help. Resolves
 * with the exit code (0 ok, 2 usage error, 1 failure).
 */
export async function aggregateMain(args: readonly string[], io: AggregateIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        timeframe: { type: 'string' },
        kind: { type: 'string' },
        'out-of-orderness': { type: 'string' },
        grace: { type: 'string' },
        'profile-step': { type: 'string' },
        input: { type: 'string' },
        format: { type: 'string' },
        'time-unit': { type: 'string' },
        output: { type: 'string' },
        out: { type: 'string' },
        to: { type: 'string' },
        'max-reports': { type: 'string' },
        threads: { type: 'string' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      io.stdout.write(AGGREGATE_HELP);
      return 0;
    }
    const format = values.format ?? 'auto';
    if (format !== 'auto' && format !== 'ndjson' && format !== 'csv' && format !== 'parquet' && format !== 'arrow') {
      throw new TickflowError('INVALID_ARGUMENT', `--format must be auto, ndjson, csv, parquet or arrow, got "${format}"`);
    }
    const timeframes = (values.timeframe ?? '1m').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const tf of timeframes) parseDuration(tf as never, 'timeframe');
    const profileStep = values['profile-step'] === undefined ? 0.05 : Number(values['profile-step']);
    if (!Number.isFinite(profileStep) || profileStep <= 0) throw new TickflowError('INVALID_ARGUMENT', `--profile-step must be a number > 0, got "${values['profile-step']}"`);
    const maxReports = values['max-reports'] === undefined ? 100 : Number(values['max-reports']);
    if (!Number.isInteger(maxReports) || maxReports < 0) throw new TickflowError('INVALID_ARGUMENT', `--max-reports must be a whole number ≥ 0, got "${values['max-reports']}"`);
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new TickflowError('INVALID_ARGUMENT', `--threads must be a whole number ≥ 1, got "${values.threads}"`);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    try {
      return await aggregateCommand(
        {
          timeframes,
          kind: parseKind(values.kind ?? 'candles'),
          outOfOrderness: values['out-of-orderness'] ?? '0s',
          grace: values.grace ?? '0s',
          profileStep,
          input: values.input,
          format,
          timeUnit: parseTimeUnit(values['time-unit'] ?? 'auto'),
          output: parseResultFormat(values.output ?? 'ndjson'),
          outFile: values.out,
          to: values.to,
          maxReports,
          threads,
          progress: values['no-progress'] === true ? false : values.progress === true ? true : undefined,
        },
        io,
        ac.signal,
      );
    } finally {
      process.off('SIGINT', stop);
    }
  } catch (e) {
    const usage = e instanceof TickflowError ? e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_DURATION' : (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    io.stderr.write(`tickflow aggregate: ${e instanceof Error ? e.message : String(e)}\n`);
    return usage ? 2 : 1;
  }
}

/** Writes lines to a stream, resolving when the stream has taken them (backpressure for the pipeline). */
export function lineWriter(stream: Writable): (lines: string) => void | Promise<void> {
  return (text) => {
    if (stream.write(text)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('error', fail);
        resolve();
      };
      const fail = (e: unknown): void => {
        stream.off('drain', done);
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      stream.once('drain', done);
      stream.once('error', fail);
    });
  };
}

/** Event times before this (1973-03-03 in ms) are almost never market data: probably seconds read as ms. */
const SUSPICIOUS_MS = 1e11;

/**
 * `tickflow aggregate`: reads trades from a file or stdin through the byte
 * scanner into columnar batches (NDJSON, CSV, compressed; Parquet and Arrow
 * IPC through their readers), aggregates them and writes the results. Bad
 * lines and late trades are reported on stderr with their line number and
 * reason (the first `maxReports` of each, then a summary) and the run goes
 * on; a late trade of a plain file or a table is shown with every field of
 * its line or row (ids, bids, asks, extra columns), one from stdin or a
 * compressed file with its trade fields. A summary ends stderr. Returns the
 * process exit code.
 */
export async function aggregateCommand(o: AggregateOptions, io: AggregateIo, signal?: AbortSignal): Promise<number> {
  const ops = aggregationOperators({ timeframes: o.timeframes as never, kind: o.kind, grace: o.grace as never, profileStep: o.profileStep });
  const outOfOrderness = parseDuration(o.outOfOrderness as never, 'out-of-orderness');
  const maxReports = o.maxReports ?? 100;
  const timeUnit = o.timeUnit ?? 'auto';
  const writeErr = lineWriter(io.stderr);
  const fromStdin = o.input === undefined || o.input === '-';
  const totalBytes = fromStdin ? undefined : (await stat(o.input!)).size;
  const progress = new ProgressMeter(io.stderr, { totalBytes, force: o.progress });
  const lateReports = new ReportLimiter('late trades', maxReports);
  const badReports = new ReportLimiter('bad lines', maxReports);
  const matcher = new LateLineMatcher(outOfOrderness);
  const late: LateEvent[] = [];
  let bytes = 0;
  let trades = 0;
  let notes = '';

  const name = fromStdin ? 'stdin' : `file:${o.input!}`;
  const table = fromStdin ? undefined : await columnarFormatOf(o.input!, o.format);
  /** What a report calls a position in the input: rows of a table, lines of text. */
  const at = table === undefined ? 'line' : 'row';
  /** Every field of a late trade's input row, where the input keeps them (tables). */
  let recordOf: ((line: number) => Record<string, unknown> | undefined) | undefined;
  /** Byte offset of each row's line in the current batch (plain text files: the line is read again for its report). */
  let offsetsOf: Float64Array | undefined;
  const lineReader = fromStdin || table !== undefined ? undefined : new LineReader(o.input!);
  const source: Source<Trade> = {
    name,
    async *read(ctx) {
      let batches: AsyncIterable<InputBatch>;
      if (table !== undefined) {
        batches = tableInput(readTableTrades(o.input!, { format: table, timeUnit, origin: name, signal: ctx.signal, onBytes: (n) => (bytes = n) }));
      } else {
        const format = o.format === 'parquet' || o.format === 'arrow' ? 'auto' : o.format;
        const scan = { format, timeUnit, origin: name, signal: ctx.signal, onBytes: (n: number) => (bytes += n) };
        batches = fromStdin
          ? scanTrades(io.stdin as AsyncIterable<Uint8Array | string>, scan)
          : scanTradeFile(o.input!, { ...scan, ...(o.threads === undefined ? {} : { workers: o.threads }) });
      }
      let first = true;
      for await (const batch of batches) {
        for (const d of batch.deadLetters) ctx.deadLetter(d);
        const cols = batch.columns;
        if (cols.length === 0) continue;
        if (first) {
          first = false;
          const ts = cols.ts[0]!;
          if (timeUnit === 'auto' && Math.abs(ts) < SUSPICIOUS_MS) {
            notes += `tickflow aggregate: note: the first trade's time ${ts} read as epoch milliseconds is ${new Date(ts).toISOString()}; if the file holds seconds (or another unit), pass --time-unit s|ms|us|ns\n`;
          }
        }
        matcher.startBatch(cols, batch.lines);
        recordOf = batch.record;
        offsetsOf = batch.offsets;
        trades += cols.length;
        yield { columns: cols };
        // The batch has been pushed: its late events were collected meanwhile, in row order.
        if (late.length > 0) await reportLate();
        matcher.endBatch();
        recordOf = undefined;
        offsetsOf = undefined;
        progress.update(bytes, trades);
      }
    },
  };

  const reportLate = (): void | Promise<void> => {
    let s = '';
    for (const l of late) {
      const line = matcher.lineOf(l);
      if (!lateReports.take(line)) continue;
      const row = matcher.lastRow;
      const record = line === undefined ? undefined : (recordOf?.(line) ?? (row >= 0 && offsetsOf !== undefined ? lineReader?.record(offsetsOf[row]!) : undefined));
      s += `${line === undefined ? '' : `${at} ${line}: `}late trade (window ${new Date(l.windowStart).toISOString()} closed at watermark ${new Date(l.watermark).toISOString()}): ${JSON.stringify(record ?? l.event)}\n`;
    }
    late.length = 0;
    return s.length > 0 ? writeErr(s) : undefined;
  };

  const output = await openResultOutput({ format: o.output ?? 'ndjson', kind: o.kind, timeframes: o.timeframes, outFile: o.outFile, to: o.to, stdout: io.stdout, stderr: io.stderr, env: io.env ?? {} });
  const job = pipeline(source, { outOfOrderness, name: 'aggregate' })
    .pipe(ops[0], ops[1])
    .late({
      // Synchronous: matched against the batch being pushed (see LateLineMatcher), written after it.
      write(batch: readonly LateEvent[]) {
        for (const l of batch) late.push(l);
      },
    })
    .deadLetters({
      write(batch: readonly DeadLetter[]) {
        let s = '';
        for (const d of batch) {
          if (badReports.take(d.line)) s += `${d.line === undefined ? d.origin : `${at} ${d.line}`}: ${d.reason}\n`;
        }
        return s.length > 0 ? writeErr(s) : undefined;
      },
    })
    .to(output);
  let stats;
  try {
    stats = await job.run(signal === undefined ? {} : { signal });
    if (late.length > 0) await reportLate();
  } finally {
    progress.done();
    lineReader?.close();
  }
  let tail = notes;
  for (const s of [lateReports.summary(), badReports.summary()]) if (s !== undefined) tail += `${s}\n`;
  const what = o.kind === 'candles' ? 'candles' : o.kind === 'profile' ? 'profiles' : 'tick counts';
  await writeErr(`${tail}tickflow aggregate: ${stats.events} trades, ${stats.emitted} ${what}, ${stats.late} late, ${stats.deadLetters} bad lines${output.describe === undefined ? '' : `; ${output.describe()}`}\n`);
  return 0;
}

/** A batch of trades from any input: text (line numbers) or a table (row numbers, with every field of a row). */
interface InputBatch {
  readonly columns: TradeColumns;
  readonly lines: Float64Array;
  /** Byte offset of each row's line in a plain text file (NaN when the input cannot be read again). */
  readonly offsets?: Float64Array | undefined;
  readonly deadLetters: readonly DeadLetter[];
  readonly record?: ((line: number) => Record<string, unknown> | undefined) | undefined;
}

async function* tableInput(batches: AsyncIterable<TableTradeBatch>): AsyncGenerator<InputBatch> {
  for await (const b of batches) yield { columns: b.columns, lines: b.rows, deadLetters: b.deadLetters, record: b.record };
}

/** Validates the kind flag. */
export function parseKind(value: string): AggregationKind {
  if (value === 'candles' || value === 'profile' || value === 'ticks') return value;
  throw new TickflowError('INVALID_ARGUMENT', `--kind must be candles, profile or ticks, got "${value}"`);
}
