import { MAX_SYMBOL_LENGTH, isValidSymbol, parseDuration } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';

// Checks run on every row before it reaches a store. Plain comparisons, no
// schema parse per row: a sink takes hundreds of thousands of rows a second.
// Each returns the reason a row is rejected, or undefined when it is fine.

function symbolProblem(symbol: unknown): string | undefined {
  if (typeof symbol !== 'string') return `symbol must be a string, got ${typeof symbol}`;
  if (symbol.length > MAX_SYMBOL_LENGTH) return `symbol must be at most ${MAX_SYMBOL_LENGTH} characters, got ${symbol.length} ("${symbol.slice(0, 40)}…")`;
  if (!isValidSymbol(symbol)) return `symbol must be 1–${MAX_SYMBOL_LENGTH} printable ASCII characters without spaces, got ${JSON.stringify(symbol)}`;
  return undefined;
}

function finite(name: string, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${name} must be a finite number, got ${typeof value === 'number' ? String(value) : typeof value}`;
  return undefined;
}

function positive(name: string, value: unknown): string | undefined {
  return finite(name, value) ?? ((value as number) > 0 ? undefined : `${name} must be > 0, got ${String(value)}`);
}

function nonNegative(name: string, value: unknown): string | undefined {
  return finite(name, value) ?? ((value as number) >= 0 ? undefined : `${name} must be ≥ 0, got ${String(value)}`);
}

function epochMs(name: string, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 8.64e15) return `${name} must be epoch milliseconds (a non-negative integer), got ${String(value)}`;
  return undefined;
}

// Timeframes seen before skip the parse; bounded, since rows come from outside.
const knownTimeframes = new Set<string>();

function timeframeProblem(timeframe: unknown): string | undefined {
  if (typeof timeframe !== 'string') return `timeframe must be a string like "1m", got ${typeof timeframe}`;
  if (knownTimeframes.has(timeframe)) return undefined;
  try {
    parseDuration(timeframe, 'timeframe');
    if (knownTimeframes.size < 64) knownTimeframes.add(timeframe);
    return undefined;
  } catch {
    return `timeframe must be a duration like "1m" or "5m", got ${JSON.stringify(timeframe.slice(0, 20))}`;
  }
}

function windowProblem(row: { symbol: unknown; timeframe: unknown; start: unknown; end: unknown; rev: unknown }): string | undefined {
  const p = symbolProblem(row.symbol) ?? timeframeProblem(row.timeframe) ?? epochMs('start', row.start) ?? epochMs('end', row.end);
  if (p !== undefined) return p;
  if ((row.end as number) <= (row.start as number)) return `end (${String(row.end)}) must be after start (${String(row.start)})`;
  if (typeof row.rev !== 'number' || !Number.isInteger(row.rev) || row.rev < 1) return `rev must be an integer ≥ 1, got ${String(row.rev)}`;
  return undefined;
}

/** Why a trade must not be stored (bad symbol, NaN or non-positive price, negative size, bad time), or undefined. */
export function tradeProblem(t: Trade): string | undefined {
  if (t === null || typeof t !== 'object') return `a trade must be an object, got ${t === null ? 'null' : typeof t}`;
  const p = symbolProblem(t.symbol) ?? epochMs('ts', t.ts) ?? positive('price', t.price) ?? nonNegative('size', t.size);
  if (p !== undefined) return p;
  if (t.side !== undefined && t.side !== 'buy' && t.side !== 'sell') return `side must be "buy" or "sell", got ${JSON.stringify(t.side)}`;
  if (t.id !== undefined && (typeof t.id !== 'string' || t.id.length > 128)) return 'id must be a string of at most 128 characters';
  return undefined;
}

/** Why a quote must not be stored, or undefined. */
export function quoteProblem(q: Quote): string | undefined {
  if (q === null || typeof q !== 'object') return `a quote must be an object, got ${q === null ? 'null' : typeof q}`;
  return symbolProblem(q.symbol) ?? epochMs('ts', q.ts) ?? finite('bid', q.bid) ?? finite('ask', q.ask) ?? nonNegative('bidSize', q.bidSize) ?? nonNegative('askSize', q.askSize);
}

/** Why a candle must not be stored (bad key, non-finite prices, high < low, negative volume, bad rev), or undefined. */
export function candleProblem(c: Candle): string | undefined {
  if (c === null || typeof c !== 'object') return `a candle must be an object, got ${c === null ? 'null' : typeof c}`;
  const p =
    windowProblem(c) ??
    finite('open', c.open) ??
    finite('high', c.high) ??
    finite('low', c.low) ??
    finite('close', c.close) ??
    finite('vwap', c.vwap) ??
    nonNegative('volume', c.volume) ??
    nonNegative('trades', c.trades) ??
    nonNegative('buyVolume', c.buyVolume) ??
    nonNegative('sellVolume', c.sellVolume);
  if (p !== undefined) return p;
  if (c.high < c.low) return `high (${c.high}) must be ≥ low (${c.low})`;
  return undefined;
}

/** Why a volume profile must not be stored, or undefined. */
export function volumeProfileProblem(v: VolumeProfile): string | undefined {
  if (v === null || typeof v !== 'object') return `a volume profile must be an object, got ${v === null ? 'null' : typeof v}`;
  const p = windowProblem(v) ?? positive('bucket', v.bucket) ?? nonNegative('volume', v.volume) ?? finite('poc', v.poc) ?? finite('valueAreaLow', v.valueAreaLow) ?? finite('valueAreaHigh', v.valueAreaHigh) ?? nonNegative('valueAreaVolume', v.valueAreaVolume);
  if (p !== undefined) return p;
  if (!Array.isArray(v.levels)) return 'levels must be an array';
  for (let i = 0; i < v.levels.length; i++) {
    const l = v.levels[i]!;
    const q = finite(`levels[${i}].price`, l.price) ?? nonNegative(`levels[${i}].volume`, l.volume) ?? nonNegative(`levels[${i}].buyVolume`, l.buyVolume) ?? nonNegative(`levels[${i}].sellVolume`, l.sellVolume);
    if (q !== undefined) return q;
  }
  return undefined;
}

/** Why a tick count must not be stored, or undefined. */
export function tickCountProblem(t: TickCount): string | undefined {
  if (t === null || typeof t !== 'object') return `a tick count must be an object, got ${t === null ? 'null' : typeof t}`;
  return windowProblem(t) ?? nonNegative('trades', t.trades) ?? nonNegative('buyTrades', t.buyTrades) ?? nonNegative('sellTrades', t.sellTrades);
}
