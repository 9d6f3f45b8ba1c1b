import { z } from 'zod';
import { TickflowError } from '../errors.js';
import { formatIssues } from './issues.js';
import { SymbolSchema } from './symbol.js';
import { toEpochMs } from './timestamp.js';
import { InvalidEvent } from './trade.js';

/** A top-of-book quote: best bid and ask with their sizes (sizes optional when the feed lacks them). */
export const QuoteSchema = z.object({
  symbol: SymbolSchema,
  ts: z.number().describe('event time, UTC epoch milliseconds'),
  bid: z.number(),
  ask: z.number(),
  bidSize: z.number().nonnegative('bidSize must be ≥ 0').optional(),
  askSize: z.number().nonnegative('askSize must be ≥ 0').optional(),
});

/** A normalised quote (see QuoteSchema). */
export type Quote = z.infer<typeof QuoteSchema>;

function num(v: unknown): unknown {
  if (typeof v === 'string') return v.trim() === '' ? undefined : Number(v);
  return v;
}

/** Accepts canonical quotes and the seed's shape (`timestamp` ISO string, bid/ask beside a trade). */
export const QuoteInputSchema = z.preprocess((raw) => {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {
    symbol: r.symbol,
    ts: toEpochMs(r.ts ?? r.timestamp ?? r.time),
    bid: num(r.bid),
    ask: num(r.ask),
  };
  const bidSize = num(r.bidSize ?? r.bid_size);
  const askSize = num(r.askSize ?? r.ask_size);
  if (bidSize !== undefined) out.bidSize = bidSize;
  if (askSize !== undefined) out.askSize = askSize;
  return out;
}, QuoteSchema);

/** Normalises one raw record to a Quote, or an InvalidEvent with the reason. */
export function normalizeQuote(raw: unknown): Quote | InvalidEvent {
  const parsed = QuoteInputSchema.safeParse(raw);
  return parsed.success ? parsed.data : new InvalidEvent(formatIssues(parsed.error), raw);
}

/** Parses a quote or throws a TickflowError with code `INVALID_EVENT`. */
export function parseQuote(raw: unknown): Quote {
  const q = normalizeQuote(raw);
  if (q instanceof InvalidEvent) throw new TickflowError('INVALID_EVENT', `invalid quote: ${q.reason}`);
  return q;
}

/** The quote carried on a trade (the seed's records have bid/ask beside the price), if any. */
export function quoteOfTrade(trade: { symbol: string; ts: number; bid?: number | undefined; ask?: number | undefined }): Quote | undefined {
  if (trade.bid === undefined || trade.ask === undefined) return undefined;
  return { symbol: trade.symbol, ts: trade.ts, bid: trade.bid, ask: trade.ask };
}
