import { TickflowError } from '../errors.js';
import { toEpochMs } from '../events/timestamp.js';
import type { NormalizeTradeOptions, Trade } from '../events/trade.js';
import { InvalidEvent, normalizeTrade, toSide } from '../events/trade.js';

/** Input formats of trade files. */
export type TradeFileFormat = 'auto' | 'ndjson' | 'csv';

/** CSV header names (lower case) → Trade fields. */
const HEADER_ALIASES: Record<string, string> = {
  symbol: 'symbol', sym: 'symbol', ticker: 'symbol',
  ts: 'ts', timestamp: 'ts', time: 'ts', t: 'ts',
  price: 'price', p: 'price',
  size: 'size', volume: 'size', qty: 'size', quantity: 'size',
  side: 'side',
  id: 'id', tradeid: 'id', trade_id: 'id',
  bid: 'bid', ask: 'ask',
};

/**
 * Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a
 * quote). Returns a string describing the problem when the quoting is broken.
 */
export function splitCsvLine(line: string): string[] | string {
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    if (i < n && line.charCodeAt(i) === 34) {
      // Quoted field.
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return 'unterminated quoted field';
        value += line.slice(i, q);
        if (q + 1 < n && line.charCodeAt(q + 1) === 34) {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === n) return fields;
      if (line.charCodeAt(i) !== 44) return `unexpected character after a quoted field at column ${i + 1}`;
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, c));
      i = c + 1;
    }
  }
}


/**
 * Parses trade lines one at a time: NDJSON objects or CSV rows with a header
 * (column names such as symbol, ts|timestamp|time, price, size|volume|qty,
 * side, id, bid, ask; any order, case-insensitive). In `auto` mode the first
 * non-empty line decides: `{` means NDJSON, anything else is a CSV header.
 *
 * @example
 * ```ts
 * const p = new TradeLineParser({ format: 'csv' });
 * p.parseLine('symbol,ts,price,size', 1);    // null (header)
 * p.parseLine('AAPL,1705660245123,150.25,100', 2); // Trade
 * p.parseLine('AAPL,1705660245123,abc,100', 3);    // InvalidEvent: price …
 * ```
 */
export class TradeLineParser {
  private format: 'ndjson' | 'csv' | undefined;
  private columns: string[] | undefined;
  private readonly options: NormalizeTradeOptions;

  constructor({ format = 'auto', symbols }: { format?: TradeFileFormat; symbols?: ReadonlySet<string> | undefined } = {}) {
    if (format !== 'auto' && format !== 'ndjson' && format !== 'csv') {
      throw new TickflowError('INVALID_ARGUMENT', `format must be auto, ndjson or csv, got "${String(format)}"`);
    }
    this.format = format === 'auto' ? undefined : format;
    this.options = { symbols };
  }

  /** The CSV columns read from the header (Trade field names; unknown columns as given). */
  get header(): readonly string[] | undefined {
    return this.columns;
  }

  /** Parses one line: a Trade, an InvalidEvent with the reason, or null for a blank line or the CSV header. */
  parseLine(rawLine: string, lineNumber: number): Trade | InvalidEvent | null {
    const line = rawLine.length > 0 && rawLine.charCodeAt(rawLine.length - 1) === 13 ? rawLine.slice(0, -1) : rawLine;
    if (line.trim().length === 0) return null;
    if (this.format === undefined) this.format = line.trimStart().startsWith('{') ? 'ndjson' : 'csv';
    if (this.format === 'ndjson') {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        return new InvalidEvent(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`, line);
      }
      return normalizeTrade(value, this.options);
    }
    const fields = splitCsvLine(line);
    if (typeof fields === 'string') return new InvalidEvent(`invalid CSV: ${fields}`, line);
    if (this.columns === undefined) {
      this.columns = fields.map((f) => {
        const name = f.trim().toLowerCase();
        return HEADER_ALIASES[name] ?? f.trim();
      });
      for (const required of ['symbol', 'ts', 'price', 'size']) {
        if (!this.columns.includes(required)) {
          throw new TickflowError('INVALID_ARGUMENT', `CSV header on line ${lineNumber} has no ${required} column (got: ${fields.join(', ')}); name the columns symbol, ts, price, size[, side, id]`);
        }
      }
      return null;
    }
    const columns = this.columns;
    if (fields.length !== columns.length) {
      return new InvalidEvent(`invalid CSV: expected ${columns.length} fields (${columns.join(',')}), got ${fields.length}`, line);
    }
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const name = columns[i]!;
      const v = fields[i]!;
      switch (name) {
        case 'symbol':
          record.symbol = v.trim();
          break;
        case 'ts':
          record.ts = toEpochMs(v);
          break;
        case 'price':
        case 'size':
        case 'bid':
        case 'ask': {
          const s = v.trim();
          if (s !== '') record[name] = Number(s);
          else if (name === 'price' || name === 'size') record[name] = undefined;
          break;
        }
        case 'side': {
          const side = toSide(v.trim());
          if (side !== undefined) record.side = side;
          break;
        }
        case 'id':
          if (v.trim() !== '') record.id = v.trim();
          break;
        default:
          break;
      }
    }
    return normalizeTrade(record, this.options);
  }
}
