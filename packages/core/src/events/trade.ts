import { z } from 'zod';
import { TickflowError } from '../errors.js';
import { formatIssues } from './issues.js';
import { SymbolSchema, isValidSymbol } from './symbol.js';
import { toEpochMs } from './timestamp.js';

/** Aggressor side of a trade. */
export const SideSchema = z.enum(['buy', 'sell']);

/** Aggressor side of a trade: `'buy'` (lifted the offer) or `'sell'` (hit the bid). */
export type Side = z.infer<typeof SideSchema>;

/**
 * A trade, normalised: UTC epoch-ms event time, price, size (≥ 0), optional
 * aggressor side, exchange trade id, and the prevailing bid/ask when the feed
 * carries them (as the seed's input does).
 */
export const TradeSchema = z.object({
  symbol: SymbolSchema,
  ts: z.number().describe('event time, UTC epoch milliseconds'),
  price: z.number(),
  size: z.number().nonnegative('size must be ≥ 0'),
  side: SideSchema.optional(),
  id: z.string().max(128).optional(),
  bid: z.number().optional(),
  ask: z.number().optional(),
});

/** A normalised trade (see TradeSchema). */
export type Trade = z.infer<typeof TradeSchema>;

/** Why an input could not become an event; routed to the dead-letter output. */
export class InvalidEvent {
  constructor(
    /** What was wrong, in words, with the offending field. */
    readonly reason: string,
    /** The input as received. */
    readonly input: unknown,
  ) {}
}

/** Options for normalising raw trade records. */
export interface NormalizeTradeOptions {
  /** When set, symbols outside it are rejected as unknown. */
  readonly symbols?: ReadonlySet<string> | undefined;
}

function pick(record: Record<string, unknown>, a: string, b?: string, c?: string, d?: string): unknown {
  let v = record[a];
  if (v === undefined && b !== undefined) v = record[b];
  if (v === undefined && c !== undefined) v = record[c];
  if (v === undefined && d !== undefined) v = record[d];
  return v;
}

function toNumber(value: unknown): unknown {
  if (typeof value === 'string') {
    const s = value.trim();
    return s.length === 0 ? undefined : Number(s);
  }
  return value;
}

/** Normalises side spellings (`buy`, `b`, `BUY`, `sell`, `s`, …); empty means none; anything else is returned for the schema to reject. */
export function toSide(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value;
  switch (value.toLowerCase()) {
    case 'buy':
    case 'b':
      return 'buy';
    case 'sell':
    case 's':
      return 'sell';
    default:
      return value;
  }
}

function toId(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
}

/**
 * Maps the accepted input shapes onto Trade's field names and types: `timestamp`
 * / `time` (ISO or epoch ms) → `ts`, `volume` / `qty` / `quantity` → `size`,
 * numeric strings → numbers, `b`/`s`/`BUY`/`SELL` → side.
 */
export function canonicalTradeShape(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    symbol: pick(record, 'symbol', 'sym', 's'),
    ts: toEpochMs(pick(record, 'ts', 'timestamp', 'time', 't')),
    price: toNumber(pick(record, 'price', 'p')),
    size: toNumber(pick(record, 'size', 'volume', 'qty', 'quantity')),
  };
  const side = toSide(pick(record, 'side'));
  if (side !== undefined) out.side = side;
  const id = toId(pick(record, 'id', 'tradeId', 'trade_id'));
  if (id !== undefined) out.id = id;
  const bid = toNumber(pick(record, 'bid'));
  if (bid !== undefined && bid !== null) out.bid = bid;
  const ask = toNumber(pick(record, 'ask'));
  if (ask !== undefined && ask !== null) out.ask = ask;
  return out;
}

/** Accepts the seed's shape and the canonical one; parses to a Trade. */
export const TradeInputSchema = z.preprocess(
  (raw) => (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? canonicalTradeShape(raw as Record<string, unknown>) : raw),
  TradeSchema,
);

function isNum(v: unknown): v is number {
  return typeof v === 'number' && v === v && v !== Infinity && v !== -Infinity;
}

/**
 * Normalises one raw record to a Trade without throwing: returns the Trade, or
 * an InvalidEvent saying what was wrong. Canonical records take a fast path
 * with no allocation beyond the result; anything else goes through
 * TradeInputSchema (zod), which also writes the error message.
 *
 * @example
 * ```ts
 * const t = normalizeTrade({ symbol: 'AAPL', price: 150.25, volume: 50000, timestamp: '2024-01-19 10:30:45.123Z' });
 * if (t instanceof InvalidEvent) console.error(t.reason); else console.log(t.ts); // 1705660245123
 * ```
 */
export function normalizeTrade(raw: unknown, options?: NormalizeTradeOptions): Trade | InvalidEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return new InvalidEvent(`expected a trade object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`, raw);
  }
  const r = raw as Record<string, unknown>;
  let trade: Trade | undefined;
  const { symbol, ts, price, size, side, id, bid, ask } = r as {
    symbol: unknown; ts: unknown; price: unknown; size: unknown; side: unknown; id: unknown; bid: unknown; ask: unknown;
  };
  if (
    typeof symbol === 'string' && isValidSymbol(symbol) &&
    isNum(ts) && isNum(price) && isNum(size) && size >= 0 &&
    (side === undefined || side === 'buy' || side === 'sell') &&
    (id === undefined || (typeof id === 'string' && id.length <= 128)) &&
    (bid === undefined || isNum(bid)) && (ask === undefined || isNum(ask)) &&
    r.timestamp === undefined && r.volume === undefined
  ) {
    trade = { symbol, ts, price, size } as Trade;
    if (side !== undefined) trade.side = side;
    // An empty id is no id (as the schema path reads it).
    if (id !== undefined && id !== '') trade.id = id;
    if (bid !== undefined) trade.bid = bid;
    if (ask !== undefined) trade.ask = ask;
  } else {
    const parsed = TradeInputSchema.safeParse(raw);
    if (!parsed.success) return new InvalidEvent(formatIssues(parsed.error), raw);
    trade = parsed.data;
  }
  if (options?.symbols !== undefined && !options.symbols.has(trade.symbol)) {
    return new InvalidEvent(`symbol: unknown symbol "${trade.symbol}" (not in the configured symbol list)`, raw);
  }
  return trade;
}

/** Parses a trade or throws a TickflowError with code `INVALID_EVENT` and the reason. */
export function parseTrade(raw: unknown, options?: NormalizeTradeOptions): Trade {
  const t = normalizeTrade(raw, options);
  if (t instanceof InvalidEvent) throw new TickflowError('INVALID_EVENT', `invalid trade: ${t.reason}`);
  return t;
}
