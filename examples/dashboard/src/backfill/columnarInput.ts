import { open } from 'node:fs/promises';
import type { DeadLetter, TradeColumns } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import type { ColumnValues, TableBatch, TimeUnit, TimeUnitOption, TradeField } from '@tickflow/core/replay';
import { TableTradeReader, mapTradeColumns, rowObject, sniffInput } from '@tickflow/core/replay';

/** True when `path` is read as Parquet or Arrow IPC: by --format, else by its magic bytes. */
export async function columnarFormatOf(path: string, format: string): Promise<'parquet' | 'arrow' | undefined> {
  if (format === 'parquet' || format === 'arrow') return format;
  if (format !== 'auto') return undefined;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    const kind = sniffInput(head.subarray(0, bytesRead));
    return kind === 'parquet' || kind === 'arrow' ? kind : undefined;
  } finally {
    await fh.close();
  }
}

/** One batch of trades read from a table file. */
export interface TableTradeBatch {
  readonly columns: TradeColumns;
  /** Row number (1-based) of each row of `columns`. */
  readonly rows: Float64Array;
  readonly deadLetters: readonly DeadLetter[];
  /** Every field of a row of this batch by its row number (id, bid, ask included), for reports. */
  record(row: number): Record<string, unknown> | undefined;
}

/** Settings of readTableTrades. */
export interface TableTradesOptions {
  readonly format: 'parquet' | 'arrow';
  readonly timeUnit: TimeUnitOption;
  readonly origin: string;
  readonly signal?: AbortSignal | undefined;
  /** Called with the bytes of the file read so far (approximate for Arrow). */
  readonly onBytes?: ((bytesSoFar: number) => void) | undefined;
}

const FIELDS: readonly TradeField[] = ['symbol', 'ts', 'price', 'size', 'side', 'id', 'bid', 'ask'];

/**
 * Reads trades from a Parquet file (hyparquet, one row group at a time) or
 * an Arrow IPC file or stream (apache-arrow, one record batch at a time)
 * into columnar batches: columns are found by name (symbol, ts|timestamp,
 * price, size|volume, side, id, bid, ask), typed timestamps are read in
 * their own unit, plain numbers with the text path's unit rules. The readers
 * are loaded on first use.
 */
export async function* readTableTrades(path: string, o: TableTradesOptions): AsyncGenerator<TableTradeBatch> {
  const reader = new TableTradeReader({ timeUnit: o.timeUnit, origin: o.origin });
  let firstRow = 1;
  const wrap = (table: TableBatch): TableTradeBatch => {
    const start = firstRow;
    firstRow += table.length;
    const { columns, rows, deadLetters } = reader.read(table);
    return {
      columns,
      rows,
      deadLetters,
      record: (row) => (row >= start && row < start + table.length ? rowObject(table, row - start) : undefined),
    };
  };
  const batches = o.format === 'parquet' ? parquetBatches(path, o) : arrowBatches(path, o);
  for await (const table of batches) {
    if (o.signal?.aborted === true) return;
    yield wrap(table);
  }
}

async function* parquetBatches(path: string, o: TableTradesOptions): AsyncGenerator<TableBatch> {
  const hp = await import('hyparquet');
  const file = await hp.asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await hp.parquetMetadataAsync(file);
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', `${path}: not a readable Parquet file: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  // Top-level columns (a flat table; nested columns are not trade fields).
  const top = metadata.schema.slice(1).filter((s) => s.num_children === undefined || s.num_children === 0);
  const map = mapTradeColumns(top.map((s) => s.name), path);
  const tsEl = top.find((s) => s.name === map.ts)!;
  const typedTs = tsEl.logical_type?.type === 'TIMESTAMP' || tsEl.converted_type === 'TIMESTAMP_MILLIS' || tsEl.converted_type === 'TIMESTAMP_MICROS' || tsEl.type === 'INT96';
  // Typed timestamps are handed over as epoch ms (numbers), whatever their unit in the file.
  const parsers = {
    timestampFromMilliseconds: (v: bigint) => Number(v),
    timestampFromMicroseconds: (v: bigint) => Number(v) / 1000,
    timestampFromNanoseconds: (v: bigint) => Number(v) / 1e6,
  };
  let rowStart = 0;
  let bytes = 0;
  for (const group of metadata.row_groups) {
    if (o.signal?.aborted === true) return;
    const n = Number(group.num_rows);
    const rowEnd = rowStart + n;
    const wanted = FIELDS.flatMap((f) => (map[f] === undefined ? [] : [map[f]]));
    const chunks = new Map<string, { data: ArrayLike<unknown>; start: number; end: number }[]>();
    await hp.parquetRead({
      file,
      metadata,
      columns: wanted,
      rowStart,
      rowEnd,
      parsers,
      onChunk: (c) => {
        let list = chunks.get(c.columnName);
        if (list === undefined) chunks.set(c.columnName, (list = []));
        list.push({ data: c.columnData as ArrayLike<unknown>, start: c.rowStart, end: c.rowEnd });
      },
    });
    const cols: Partial<Record<TradeField, ColumnValues>> = {};
    for (const f of FIELDS) {
      const name = map[f];
      if (name !== undefined) cols[f] = assemble(chunks.get(name) ?? [], rowStart, rowEnd);
    }
    for (const c of group.columns) bytes += Number(c.meta_data?.total_compressed_size ?? 0);
    rowStart = rowEnd;
    o.onBytes?.(bytes);
    yield { length: n, symbol: cols.symbol!, ts: cols.ts!, price: cols.price!, size: cols.size!, side: cols.side, id: cols.id, bid: cols.bid, ask: cols.ask, tsUnit: typedTs ? 'ms' : undefined };
  }
}

async function* arrowBatches(path: string, o: TableTradesOptions): AsyncGenerator<TableBatch> {
  const arrow = await import('apache-arrow');
  const fh = await open(path, 'r');
  try {
    let reader;
    try {
      reader = await arrow.RecordBatchReader.from(fh);
      await reader.open();
    } catch (e) {
      throw new TickflowError('INVALID_ARGUMENT', `${path}: not a readable Arrow IPC file or stream: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    let map: ReturnType<typeof mapTradeColumns> | undefined;
    let bytes = 0;
    for await (const batch of reader) {
      if (o.signal?.aborted === true) return;
      map ??= mapTradeColumns(batch.schema.fields.map((f) => f.name), path);
      const cols: Partial<Record<TradeField, ColumnValues>> = {};
      let tsUnit: TimeUnit | undefined;
      for (const f of FIELDS) {
        const name = map[f];
        if (name === undefined) continue;
        const v = batch.getChild(name);
        if (v === null) continue;
        for (const d of v.data) bytes += d.byteLength;
        const typeId = v.type.typeId;
        if (f === 'ts' && (typeId === arrow.Type.Timestamp || typeId === arrow.Type.Date)) {
          // get() gives epoch ms for timestamps and dates, whatever their unit.
          tsUnit = 'ms';
          cols.ts = cellsOf(v);
        } else if (v.nullCount === 0 && (typeId === arrow.Type.Float || typeId === arrow.Type.Int || typeId === arrow.Type.Dictionary || typeId === arrow.Type.Utf8 || typeId === arrow.Type.LargeUtf8)) {
          // No nulls: the reader's own arrays (typed arrays for numbers, strings for text).
          cols[f] = v.toArray() as ColumnValues;
        } else {
          cols[f] = cellsOf(v);
        }
      }
      o.onBytes?.(bytes);
      yield { length: batch.numRows, symbol: cols.symbol!, ts: cols.ts!, price: cols.price!, size: cols.size!, side: cols.side, id: cols.id, bid: cols.bid, ask: cols.ask, tsUnit };
    }
  } finally {
    await fh.close();
  }
}

/** A vector's values one by one (nulls stay null). */
function cellsOf(v: { readonly length: number; get(i: number): unknown }): unknown[] {
  const out = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.get(i);
  return out;
}

/** A column's values for rows [from, to) from the chunks the reader handed over (one chunk covering them is used as is). */
function assemble(chunks: readonly { data: ArrayLike<unknown>; start: number; end: number }[], from: number, to: number): ColumnValues {
  if (chunks.length === 1 && chunks[0]!.start === from && chunks[0]!.end === to) return chunks[0]!.data;
  const out = new Array<unknown>(to - from).fill(null);
  for (const c of chunks) {
    for (let r = Math.max(from, c.start); r < Math.min(to, c.end); r++) out[r - from] = c.data[r - c.start];
  }
  return out;
}
