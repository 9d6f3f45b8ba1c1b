import { TickflowError } from '../errors.js';
import { toEpochMs } from '../events/timestamp.js';
import type { NormalizeTradeOptions, Trade } from '../events/trade.js';
import { InvalidEvent, normalizeTrade, toSide } from '../events/trade.js';

/** Input formats of trade files. */
export type TradeFileFormat = 'auto' | 'ndjson' | 'csv';

/** Units of numeric timestamps in trade files. */
export type TimeUnit = 's' | 'ms' | 'us' | 'ns';

/** The accepted `timeUnit` settings: a unit, or `'auto'` to detect it from the first trade. */
export type TimeUnitOption = TimeUnit | 'auto';

const TIME_UNITS: readonly TimeUnitOption[] = ['auto', 's', 'ms', 'us', 'ns'];

/**
 * Guesses the unit of a numeric epoch timestamp from its magnitude: ≥ 1e17
 * nanoseconds, ≥ 1e14 microseconds, ≥ 1e11 milliseconds, ≥ 1e8 seconds
 * (1973 onwards). Smaller values are read as milliseconds, as before units
 * were detected (test data near 1970); pass the unit explicitly for them.
 *
 * @example
 * ```ts
 * detectTimeUnit(1705660245);          // 's'
 * detectTimeUnit(1705660245123456789); // 'ns'
 * ```
 */
export function detectTimeUnit(value: number): TimeUnit {
  const a = Math.abs(value);
  if (a >= 1e17) return 'ns';
  if (a >= 1e14) return 'us';
  if (a >= 1e11) return 'ms';
  if (a >= 1e8) return 's';
  return 'ms';
}

/** Converts a numeric timestamp in `unit` to epoch milliseconds (the same arithmetic on every path). */
export function toMilliseconds(value: number, unit: TimeUnit): number {
  switch (unit) {
    case 's':
      return value * 1000;
    case 'ms':
      return value;
    case 'us':
      return value / 1000;
    case 'ns':
      return value / 1e6;
    default: {
      const never: never = unit;
      throw new TickflowError('INVALID_ARGUMENT', `unknown time unit "${String(never)}"`);
    }
  }
}

/** Validates a time-unit setting (a flag or option value). */
export function parseTimeUnit(value: string): TimeUnitOption {
  if ((TIME_UNITS as readonly string[]).includes(value)) return value as TimeUnitOption;
  throw new TickflowError('INVALID_ARGUMENT', `time unit must be auto, s, ms, us or ns, got "${value}"`);
}

/** True when a raw timestamp is read as a number (epoch in some unit), false for a date string (ISO-8601). */
function isNumericTime(raw: unknown): boolean {
  if (typeof raw === 'number') return true;
  if (typeof raw !== 'string') return false;
  const s = raw.trim();
  if (s.length === 0) return false;
  const c = s.charCodeAt(0);
  return ((c >= 48 && c <= 57) || c === 45) && Number.isFinite(Number(s));
}

function rawTime(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  let v = r.ts;
  if (v === undefined) v = r.timestamp;
  if (v === undefined) v = r.time;
  if (v === undefined) v = r.t;
  return v;
}

/** Non-printable characters other than tab: a header containing them is binary data, not text. */
// eslint-disable-next-line no-control-regex
const BINARY_RE = /[\x00-\x08\x0e-\x1f\ufffd]/;

/** Why a first line is not a CSV header, in words, without echoing binary data; undefined when it may be one. */
function headerProblem(line: string, fields: readonly string[]): string | undefined {
  if (BINARY_RE.test(line)) {
    return 'the input does not look like text (binary or compressed data?): tickflow reads NDJSON or CSV, plain or gzip/zstd compressed, and Parquet or Arrow IPC files by extension';
  }
  if (fields.length === 1) {
    for (const [d, name] of [[';', 'semicolon'], ['\t', 'tab'], ['|', 'pipe']] as const) {
      if (line.includes(d)) return `the CSV header has one column but contains ${name}s: the file looks ${name}-delimited; tickflow reads comma-separated CSV (convert it, e.g. tr '${d === '\t' ? '\\t' : d}' ',')`;
    }
  }
  return undefined;
}

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
  private unit: TimeUnit | undefined;

  constructor({
    format = 'auto',
    symbols,
    timeUnit = 'auto',
  }: { format?: TradeFileFormat; symbols?: ReadonlySet<string> | undefined; timeUnit?: TimeUnitOption } = {}) {
    if (format !== 'auto' && format !== 'ndjson' && format !== 'csv') {
      throw new TickflowError('INVALID_ARGUMENT', `format must be auto, ndjson or csv, got "${String(format)}"`);
    }
    this.format = format === 'auto' ? undefined : format;
    this.options = { symbols };
    this.unit = parseTimeUnit(timeUnit) === 'auto' ? undefined : (timeUnit as TimeUnit);
  }

  /** The CSV columns read from the header (Trade field names; unknown columns as given). */
  get header(): readonly string[] | undefined {
    return this.columns;
  }

  /** The format, once known (given, or decided by the first non-empty line). */
  get detectedFormat(): 'ndjson' | 'csv' | undefined {
    return this.format;
  }

  /** The unit of numeric timestamps, once known (given, or detected from the first trade's). */
  get timeUnit(): TimeUnit | undefined {
    return this.unit;
  }

  /**
   * Converts a numeric timestamp of the input to epoch ms, fixing the unit on
   * the first call when it is detected. Used by the line parser and by the
   * byte scanner, so both read every file the same way.
   */
  scaleTime(value: number): number {
    let unit = this.unit;
    if (unit === undefined) unit = this.unit = detectTimeUnit(value);
    return unit === 'ms' ? value : toMilliseconds(value, unit);
  }

  private finish(result: Trade | InvalidEvent, raw: unknown, line: string): Trade | InvalidEvent {
    if (result instanceof InvalidEvent || !isNumericTime(raw)) return result;
    const before = this.unit;
    const ts = this.scaleTime(result.ts);
    if (!Number.isFinite(ts)) return new InvalidEvent(`ts: ${result.ts} ${before ?? this.unit} is out of range`, line);
    result.ts = ts;
    return result;
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
      return this.finish(normalizeTrade(value, this.options), rawTime(value), line);
    }
    const fields = splitCsvLine(line);
    if (typeof fields === 'string') return new InvalidEvent(`invalid CSV: ${fields}`, line);
    if (this.columns === undefined) {
      const columns = fields.map((f) => {
        const name = f.trim().toLowerCase();
        return HEADER_ALIASES[name] ?? f.trim();
      });
      for (const required of ['symbol', 'ts', 'price', 'size']) {
        if (!columns.includes(required)) {
          const problem = headerProblem(line, fields);
          if (problem !== undefined) throw new TickflowError('INVALID_ARGUMENT', `line ${lineNumber}: ${problem}`);
          const shown = fields.join(', ');
          throw new TickflowError('INVALID_ARGUMENT', `CSV header on line ${lineNumber} has no ${required} column (got: ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}); name the columns symbol, ts, price, size[, side, id]`);
        }
      }
      this.columns = columns;
      return null;
    }
    const columns = this.columns;
    if (fields.length !== columns.length) {
      return new InvalidEvent(`invalid CSV: expected ${columns.length} fields (${columns.join(',')}), got ${fields.length}`, line);
    }
    const record: Record<string, unknown> = {};
    let rawTs: unknown;
    for (let i = 0; i < columns.length; i++) {
      const name = columns[i]!;
      const v = fields[i]!;
      switch (name) {
        case 'symbol':
          record.symbol = v.trim();
          break;
        case 'ts':
          rawTs = v;
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
    return this.finish(normalizeTrade(record, this.options), rawTs, line);
  }
}
