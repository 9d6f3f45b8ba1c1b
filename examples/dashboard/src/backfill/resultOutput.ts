import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Output } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import type { AggregationKind } from '../aggregation.js';

/** Formats `tickflow aggregate` writes results in. */
export type ResultFormat = 'ndjson' | 'csv' | 'parquet';

/** Validates the --output flag. */
export function parseResultFormat(value: string): ResultFormat {
  if (value === 'ndjson' || value === 'csv' || value === 'parquet') return value;
  throw new TickflowError('INVALID_ARGUMENT', `--output must be ndjson, csv or parquet, got "${value}"`);
}

/** Where results go, with a closing description for the summary line. */
export interface ResultOutput extends Output<unknown> {
  /** A few words on where the results went (for the summary), when not stdout. */
  describe?(): string;
}

/** Settings of openResultOutput. */
export interface ResultOutputOptions {
  readonly format: ResultFormat;
  readonly kind: AggregationKind;
  /** Timeframes of the run (a store creates a table for each). */
  readonly timeframes: readonly string[];
  readonly outFile: string | undefined;
  readonly to: string | undefined;
  readonly stdout: Writable;
  /** Where a store's log lines go. */
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

/** Candle columns in CSV and Parquet, in the order of the NDJSON fields. */
export const CANDLE_COLUMNS = ['symbol', 'timeframe', 'start', 'end', 'open', 'high', 'low', 'close', 'volume', 'trades', 'vwap', 'buyVolume', 'sellVolume', 'final', 'rev'] as const;
/** Tick-count columns. */
export const TICK_COLUMNS = ['symbol', 'timeframe', 'start', 'end', 'trades', 'volume', 'buyTrades', 'sellTrades', 'final', 'rev'] as const;

function writeText(stream: Writable, text: string): void | Promise<void> {
  if (stream.write(text)) return undefined;
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
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
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Opens where `tickflow aggregate` writes: NDJSON or CSV on stdout or to a
 * file, a Parquet file, or a store (`--to`).
 */
export async function openResultOutput(o: ResultOutputOptions): Promise<ResultOutput> {
  if (o.to !== undefined) {
    const { openStoreOutput } = await import('./storeOutput.js');
    if (o.outFile !== undefined) throw new TickflowError('INVALID_ARGUMENT', '--to and --out both say where results go: give one');
    return openStoreOutput(o.to, { kind: o.kind, timeframes: o.timeframes, stderr: o.stderr });
  }
  if (o.format === 'parquet') {
    if (o.outFile === undefined) throw new TickflowError('INVALID_ARGUMENT', '--output parquet needs --out FILE (Parquet is not streamed to stdout)');
    const { parquetResultOutput } = await import('./parquetOutput.js');
    return parquetResultOutput(o.outFile, o.kind);
  }
  const file = o.outFile === undefined ? undefined : createWriteStream(o.outFile);
  const stream = file ?? o.stdout;
  const closeFile = (): Promise<void> | undefined =>
    file === undefined ? undefined : new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
  if (o.format === 'ndjson') {
    return {
      write(batch) {
        let s = '';
        for (const v of batch) s += `${JSON.stringify(v)}\n`;
        return writeText(stream, s);
      },
      close: closeFile,
    };
  }
  if (o.kind === 'profile') throw new TickflowError('INVALID_ARGUMENT', '--output csv holds candles and tick counts; volume profiles (levels per window) need ndjson or parquet');
  const columns: readonly string[] = o.kind === 'candles' ? CANDLE_COLUMNS : TICK_COLUMNS;
  let header = false;
  return {
    write(batch) {
      let s = header ? '' : `${columns.join(',')}\n`;
      header = true;
      for (const v of batch) {
        const r = v as Record<string, unknown>;
        for (let i = 0; i < columns.length; i++) s += (i === 0 ? '' : ',') + csvCell(r[columns[i]!]);
        s += '\n';
      }
      return writeText(stream, s);
    },
    close() {
      if (!header) stream.write(`${columns.join(',')}\n`);
      return closeFile();
    },
  };
}
