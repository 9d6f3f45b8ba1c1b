import { TickflowError } from '../errors.js';
import type { DeadLetter } from '../events/deadLetter.js';
import { isValidSymbol } from '../events/symbol.js';
import { toEpochMs } from '../events/timestamp.js';
import { InvalidEvent, normalizeTrade, toSide } from '../events/trade.js';
import type { TradeColumns } from '../tradeColumns.js';
import { SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN, TradeColumnsBuilder } from '../tradeColumns.js';
import type { TimeUnit, TimeUnitOption } from './tradeLineParser.js';
import { detectTimeUnit, parseTimeUnit, toMilliseconds } from './tradeLineParser.js';

/** Trade fields a column of a table (Parquet, Arrow) can hold. */
export type TradeField = 'symbol' | 'ts' | 'price' | 'size' | 'side' | 'id' | 'bid' | 'ask';

/** Column names (lower case) → Trade fields, as CSV headers are read. */
const COLUMN_ALIASES: Record<string, TradeField> = {
  symbol: 'symbol', sym: 'symbol', ticker: 'symbol',
  ts: 'ts', timestamp: 'ts', time: 'ts', t: 'ts',
  price: 'price', p: 'price',
  size: 'size', volume: 'size', qty: 'size', quantity: 'size',
  side: 'side',
  id: 'id', tradeid: 'id', trade_id: 'id',
  bid: 'bid', ask: 'ask',
};

const REQUIRED: readonly TradeField[] = ['symbol', 'ts', 'price', 'size'];

/**
 * Maps a table's column names onto Trade fields by name (case-insensitive:
 * symbol, ts or timestamp, price, size or volume, side, id, bid, ask and the
 * CSV header aliases); the first column naming a field wins. Throws
 * INVALID_ARGUMENT naming the missing fields and the columns there are.
 *
 * @example
 * ```ts
 * mapTradeColumns(['Symbol', 'timestamp', 'price', 'volume']); // { symbol: 'Symbol', ts: 'timestamp', price: 'price', size: 'volume' }
 * ```
 */
export function mapTradeColumns(names: readonly string[], what = 'the input'): Partial<Record<TradeField, string>> & Record<'symbol' | 'ts' | 'price' | 'size', string> {
  const out: Partial<Record<TradeField, string>> = {};
  for (const name of names) {
    const field = COLUMN_ALIASES[name.trim().toLowerCase()];
    if (field !== undefined && out[field] === undefined) out[field] = name;
  }
  const missing = REQUIRED.filter((f) => out[f] === undefined);
  if (missing.length > 0) {
    throw new TickflowError(
      'INVALID_ARGUMENT',
      `${what} has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} (columns: ${names.join(', ')}); trades need symbol, ts|timestamp, price, size|volume (side, id, bid, ask optional)`,
    );
  }
  return out as ReturnType<typeof mapTradeColumns>;
}

/** A column's values: a typed array, an array of numbers, bigints, strings, Dates or nulls. */
export type ColumnValues = ArrayLike<unknown>;

/** One record batch of a table, its columns by Trade field. */
export interface TableBatch {
  /** Rows in the batch. */
  readonly length: number;
  readonly symbol: ColumnValues;
  readonly ts: ColumnValues;
  readonly price: ColumnValues;
  readonly size: ColumnValues;
  readonly side?: ColumnValues | undefined;
  readonly id?: ColumnValues | undefined;
  readonly bid?: ColumnValues | undefined;
  readonly ask?: ColumnValues | undefined;
  /**
   * Unit of the ts column when its type says it (Arrow timestamp, Parquet
   * TIMESTAMP): integers are converted with it, never detected. Omitted for
   * plain numbers (detected from the first trade or `timeUnit`) and strings.
   */
  readonly tsUnit?: TimeUnit | undefined;
}

/** A batch converted to columns: the trades, the 1-based row number of each, the bad rows. */
export interface ColumnarBatch {
  readonly columns: TradeColumns;
  /** Row number in the table (1-based) of each row of `columns`. */
  readonly rows: Float64Array;
  readonly deadLetters: DeadLetter[];
}

/** Settings of TableTradeReader. */
export interface TableTradeReaderOptions {
  /** Unit of plain numeric timestamps: detected from the first one (the text path's rule) unless given. */
  readonly timeUnit?: TimeUnitOption;
  /** Dead letters' origin. */
  readonly origin?: string;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim();
    return s.length === 0 ? Number.NaN : Number(s);
  }
  return Number.NaN;
}

/**
 * Turns record batches of a table (Parquet, Arrow IPC, already decoded into
 * arrays by their readers) into TradeColumns for `job.pushColumns`, with the
 * text path's rules: numeric timestamps in the given unit or the one the
 * first trade's magnitude says (typed timestamps in their own unit), ISO
 * strings absolute (UTC without zone), sides `buy`/`b`/`sell`/`s`; a row
 * that is not a valid trade becomes a dead letter with its row number and the
 * reason `normalizeTrade` gives. The symbol dictionary persists across
 * batches; a batch's arrays are reused by the next call.
 *
 * @example
 * ```ts
 * const r = new TableTradeReader({ timeUnit: 'auto', origin: 'file:t.parquet' });
 * const { columns, rows, deadLetters } = r.read({ length: n, symbol, ts, price, size });
 * job.pushColumns(columns);
 * ```
 */
export class TableTradeReader {
  private readonly builder = new TradeColumnsBuilder(4096);
  private unit: TimeUnit | undefined;
  private readonly origin: string;
  private rowNumbers = new Float64Array(4096);
  private nextRow = 1;

  constructor(options: TableTradeReaderOptions = {}) {
    const u = parseTimeUnit(options.timeUnit ?? 'auto');
    this.unit = u === 'auto' ? undefined : u;
    this.origin = options.origin ?? 'table';
  }

  /** The unit of plain numeric timestamps, once known. */
  get timeUnit(): TimeUnit | undefined {
    return this.unit;
  }

  /** Converts the next batch (row numbers continue from the previous one). */
  read(batch: TableBatch): ColumnarBatch {
    const b = this.builder;
    b.reset();
    const n = batch.length;
    if (this.rowNumbers.length < n) this.rowNumbers = new Float64Array(n);
    const rows = this.rowNumbers;
    const dead: DeadLetter[] = [];
    const { symbol, ts, price, size, side, tsUnit } = batch;
    let lastSym: unknown;
    let lastId = 0;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const row = this.nextRow + i;
      const s = symbol[i];
      const p = num(price[i]);
      const q = num(size[i]);
      const t = this.time(ts[i], tsUnit);
      const rawSide = side === undefined ? undefined : side[i];
      const sd = rawSide === undefined || rawSide === null || rawSide === '' ? undefined : toSide(rawSide);
      const symOk = s === lastSym || (typeof s === 'string' && isValidSymbol(s));
      if (!symOk || !Number.isFinite(t) || !Number.isFinite(p) || !Number.isFinite(q) || q < 0 || (sd !== undefined && sd !== 'buy' && sd !== 'sell')) {
        dead.push({ reason: this.reasonOf(batch, i, t), input: rowObject(batch, i), origin: this.origin, line: row });
        continue;
      }
      if (s !== lastSym) {
        lastSym = s;
        lastId = b.symbolId(s as string);
      }
      b.addRow(lastId, t, p, q, sd === 'buy' ? SIDE_BUY : sd === 'sell' ? SIDE_SELL : SIDE_UNKNOWN);
      rows[kept++] = row;
    }
    this.nextRow += n;
    return { columns: b.build(), rows: rows.subarray(0, kept), deadLetters: dead };
  }

  /** Epoch ms of a timestamp cell (NaN when it is not one). */
  private time(v: unknown, typed: TimeUnit | undefined): number {
    if (typeof v === 'number' || typeof v === 'bigint') {
      const x = Number(v);
      if (typed !== undefined) return typed === 'ms' ? x : toMilliseconds(x, typed);
      let unit = this.unit;
      if (unit === undefined) unit = this.unit = detectTimeUnit(x);
      return unit === 'ms' ? x : toMilliseconds(x, unit);
    }
    if (typeof v === 'string') {
      const s = v.trim();
      const c = s.charCodeAt(0);
      if (((c >= 48 && c <= 57) || c === 45) && Number.isFinite(Number(s))) return this.time(Number(s), typed);
      return toEpochMs(s);
    }
    if (v instanceof Date) return v.getTime();
    return Number.NaN;
  }

  private reasonOf(batch: TableBatch, i: number, t: number): string {
    const o = rowObject(batch, i);
    if (!Number.isFinite(t)) return `ts: ${String(batch.ts[i])} is not a time`;
    const r = normalizeTrade({ ...o, ts: t });
    return r instanceof InvalidEvent ? r.reason : 'not a valid trade';
  }
}

/** Row `i` of a batch as a plain record with every field the table has (for late-trade and dead-letter reports). */
export function rowObject(batch: TableBatch, i: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of ['symbol', 'ts', 'price', 'size', 'side', 'id', 'bid', 'ask'] as const) {
    const col = batch[f];
    if (col === undefined) continue;
    const v = col[i];
    if (v === undefined || v === null) continue;
    o[f] = typeof v === 'bigint' ? (f === 'id' ? v.toString() : Number(v)) : v instanceof Date ? v.toISOString() : v;
  }
  return o;
}
