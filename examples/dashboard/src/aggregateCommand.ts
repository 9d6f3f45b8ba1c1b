import type { Writable } from 'node:stream';
import type { DeadLetter, LateEvent, Source, Trade } from '@tickflow/core';
import { TickflowError, parseDuration, pipeline } from '@tickflow/core';
import { fromFile, fromReadable } from '@tickflow/core/replay';
import type { AggregationKind } from './aggregation.js';
import { aggregationOperators } from './aggregation.js';

/** Options of `tickflow aggregate` after parsing. */
export interface AggregateOptions {
  readonly timeframes: string[];
  readonly kind: AggregationKind;
  readonly outOfOrderness: string;
  readonly grace: string;
  readonly profileStep: number;
  readonly input: string | undefined;
  readonly format: 'auto' | 'ndjson' | 'csv';
}

/** Where the command writes. */
export interface AggregateIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** Writes lines to a stream, resolving when the stream has taken them (backpressure for the pipeline). */
function lineWriter(stream: Writable): (lines: string) => void | Promise<void> {
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

/**
 * `tickflow aggregate`: reads trades (NDJSON or CSV) from a file or stdin,
 * writes one JSON result per line to stdout. Bad lines and late trades are
 * reported on stderr with their reason and the run goes on; a summary ends
 * stderr. Returns the process exit code.
 */
export async function aggregateCommand(o: AggregateOptions, io: AggregateIo, signal?: AbortSignal): Promise<number> {
  const ops = aggregationOperators({ timeframes: o.timeframes as never, kind: o.kind, grace: o.grace as never, profileStep: o.profileStep });
  const outOfOrderness = parseDuration(o.outOfOrderness as never, 'out-of-orderness');
  const source: Source<Trade> =
    o.input === undefined || o.input === '-'
      ? fromReadable(io.stdin, { format: o.format, name: 'stdin' })
      : fromFile(o.input, { format: o.format });
  const writeOut = lineWriter(io.stdout);
  const writeErr = lineWriter(io.stderr);
  const job = pipeline(source, { outOfOrderness, name: 'aggregate' })
    .pipe(ops[0], ops[1])
    .late({
      write(batch: readonly LateEvent[]) {
        let s = '';
        for (const l of batch) {
          s += `late trade (window ${new Date(l.windowStart).toISOString()} closed at watermark ${new Date(l.watermark).toISOString()}): ${JSON.stringify(l.event)}\n`;
        }
        return writeErr(s);
      },
    })
    .deadLetters({
      write(batch: readonly DeadLetter[]) {
        let s = '';
        for (const d of batch) s += `${d.line === undefined ? d.origin : `line ${d.line}`}: ${d.reason}\n`;
        return writeErr(s);
      },
    })
    .to({
      write(batch) {
        let s = '';
        for (const v of batch) s += `${JSON.stringify(v)}\n`;
        return writeOut(s);
      },
    });
  const stats = await job.run(signal === undefined ? {} : { signal });
  await writeErr(`tickflow aggregate: ${stats.events} trades, ${stats.emitted} ${o.kind === 'candles' ? 'candles' : o.kind === 'profile' ? 'profiles' : 'tick counts'}, ${stats.late} late, ${stats.deadLetters} bad lines\n`);
  return 0;
}

/** Validates the kind flag. */
export function parseKind(value: string): AggregationKind {
  if (value === 'candles' || value === 'profile' || value === 'ticks') return value;
  throw new TickflowError('INVALID_ARGUMENT', `--kind must be candles, profile or ticks, got "${value}"`);
}
