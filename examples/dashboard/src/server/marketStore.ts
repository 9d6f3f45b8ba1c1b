import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { TradeRing } from '@tickflow/core';

/** A stored trade with its arrival sequence number (the pagination cursor). */
export interface StoredTrade extends Trade {
  readonly seq: number;
}

/** One page of raw trades. */
export interface TradePage {
  readonly trades: StoredTrade[];
  /** Pass as `cursor` to get the next page; null when there is none. */
  readonly nextCursor: number | null;
}

/** Summary of a symbol over the last 24 hours (event time). */
export interface SymbolStats {
  readonly symbol: string;
  readonly last: number;
  readonly lastTs: number;
  readonly open24h: number;
  readonly change24h: number;
  readonly changePct24h: number;
  readonly high24h: number;
  readonly low24h: number;
  readonly volume24h: number;
  readonly vwap24h: number;
  readonly trades24h: number;
  /** Trades in the latest 1m tick-count window. */
  readonly ticksLastMinute: number;
}

/**
 * What the REST layer reads. The embedded server implements it in process
 * (`InMemoryMarketStore`); full mode plugs in ClickHouse/Timescale/Redis
 * readers behind the same interface.
 */
export interface MarketDataReader {
  /** Symbols seen so far, sorted. */
  symbols(): Promise<string[]>;
  /** Raw trades of a symbol with from ≤ ts < to, in arrival order, after `cursor` (a seq). */
  trades(q: { symbol: string; from: number; to: number; cursor: number; limit: number }): Promise<TradePage>;
  /** Candles of a symbol and timeframe with from ≤ start < to, oldest first, at most the newest `limit`. */
  candles(q: { symbol: string; timeframe: string; from: number; to: number; limit: number }): Promise<Candle[]>;
  /** Volume profiles of a symbol and timeframe, oldest first. */
  profiles(q: { symbol: string; timeframe: string; from: number; to: number; limit: number }): Promise<VolumeProfile[]>;
  /** 24h stats, or undefined for an unknown symbol. */
  stats(symbol: string, now: number): Promise<SymbolStats | undefined>;
  /** Latest trade price of a symbol. */
  lastPrice(symbol: string): number | undefined;
}

/** A fixed-capacity ring of values, oldest overwritten first. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(value: T): void {
    this.items[(this.head + this.count) % this.capacity] = value;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** The i-th value, 0 = oldest. */
  at(i: number): T {
    return this.items[(this.head + i) % this.capacity] as T;
  }
}

/** Bars of one series keyed by start, bounded: a correction replaces its bar, the oldest falls off. */
class WindowSeries<W extends { start: number; rev: number }> {
  readonly bars: W[] = [];
  /** Whether retention dropped bars (then the series holds only bars from its oldest retained start on). */
  evicted = false;
  constructor(private readonly limit: number) {}

  upsert(w: W): boolean {
    const bars = this.bars;
    for (let i = bars.length - 1; i >= 0; i--) {
      const held = bars[i]!;
      if (held.start === w.start) {
        if (held.rev > w.rev) return false;
        bars[i] = w;
        return true;
      }
      if (held.start < w.start) {
        bars.splice(i + 1, 0, w);
        if (bars.length > this.limit) {
          bars.splice(0, bars.length - this.limit);
          this.evicted = true;
        }
        return true;
      }
    }
    if (bars.length >= this.limit) {
      this.evicted = true;
      return false; // older than everything retained
    }
    bars.unshift(w);
    return true;
  }

  range(from: number, to: number, limit: number): W[] {
    const out: W[] = [];
    for (let i = this.bars.length - 1; i >= 0 && out.length < limit; i--) {
      const b = this.bars[i]!;
      if (b.start < from) break;
      if (b.start < to) out.push(b);
    }
    return out.reverse();
  }
}

/** Retention of the in-process store. */
export interface RetentionOptions {
  /** Bars kept per symbol and timeframe (candles, profiles, tick counts). Default 1440 (a day of 1m bars). */
  readonly bars?: number;
  /** Raw trades kept per symbol. Default 10 000. */
  readonly trades?: number;
}

const DAY = 86_400_000;

/**
 * The embedded stand-in for the stores: per symbol a ring of raw trades and,
 * per symbol and timeframe, bounded series of candles, volume profiles and
 * tick counts. Memory is bounded by symbols × (trades + timeframes × bars).
 */
export class InMemoryMarketStore implements MarketDataReader {
  // Per symbol its raw trades as columns (tradeRing.ts), with their sequence numbers.
  private readonly tradeRings = new Map<string, TradeRing>();
  private readonly candleSeries = new Map<string, WindowSeries<Candle>>();
  private readonly profileSeries = new Map<string, WindowSeries<VolumeProfile>>();
  private readonly tickSeries = new Map<string, WindowSeries<TickCount>>();
  private readonly last = new Map<string, Trade>();
  private seq = 0;
  /** When this store began receiving data: anything earlier is only in the configured stores. */
  readonly startedAt = Date.now();
  private readonly bars: number;
  private readonly tradeLimit: number;

  constructor({ bars = 1440, trades = 10_000 }: RetentionOptions = {}) {
    this.bars = bars;
    this.tradeLimit = trades;
  }

  /** Appends raw trades (in arrival order). */
  addTrades(batch: readonly Trade[]): void {
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i]!;
      let ring = this.tradeRings.get(t.symbol);
      if (ring === undefined) {
        ring = new TradeRing(t.symbol, this.tradeLimit);
        this.tradeRings.set(t.symbol, ring);
      }
      ring.push(t, ++this.seq);
      const held = this.last.get(t.symbol);
      if (held === undefined || t.ts >= held.ts) this.last.set(t.symbol, t);
    }
  }

  /** Inserts or replaces a candle; false when an equal-or-newer revision is held or it is older than the retention. */
  upsertCandle(c: Candle): boolean {
    return series(this.candleSeries, `${c.symbol}|${c.timeframe}`, this.bars).upsert(c);
  }

  upsertProfile(p: VolumeProfile): boolean {
    return series(this.profileSeries, `${p.symbol}|${p.timeframe}`, this.bars).upsert(p);
  }

  upsertTicks(t: TickCount): boolean {
    return series(this.tickSeries, `${t.symbol}|${t.timeframe}`, this.bars).upsert(t);
  }

  /** The latest candle of every symbol for a timeframe, sorted by symbol. */
  latestCandles(timeframe: string): Candle[] {
    const out: Candle[] = [];
    for (const [id, s] of this.candleSeries) if (id.endsWith(`|${timeframe}`) && s.bars.length > 0) out.push(s.bars[s.bars.length - 1]!);
    return out.sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  async symbols(): Promise<string[]> {
    return [...this.tradeRings.keys()].sort();
  }

  async trades({ symbol, from, to, cursor, limit }: { symbol: string; from: number; to: number; cursor: number; limit: number }): Promise<TradePage> {
    const ring = this.tradeRings.get(symbol);
    if (ring === undefined) return { trades: [], nextCursor: null };
    // seq grows along the ring: binary search for the first seq > cursor.
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring.seqAt(mid) <= cursor) lo = mid + 1;
      else hi = mid;
    }
    const out: StoredTrade[] = [];
    let i = lo;
    for (; i < ring.length && out.length < limit; i++) {
      const ts = ring.tsAt(i);
      if (ts >= from && ts < to) out.push({ ...ring.at(i), seq: ring.seqAt(i) });
    }
    let more = false;
    for (let j = i; j < ring.length; j++) {
      const ts = ring.tsAt(j);
      if (ts >= from && ts < to) {
        more = true;
        break;
      }
    }
    return { trades: out, nextCursor: more && out.length > 0 ? out[out.length - 1]!.seq : null };
  }

  async candles({ symbol, timeframe, from, to, limit }: { symbol: string; timeframe: string; from: number; to: number; limit: number }): Promise<Candle[]> {
    return this.candleSeries.get(`${symbol}|${timeframe}`)?.range(from, to, limit) ?? [];
  }

  async profiles({ symbol, timeframe, from, to, limit }: { symbol: string; timeframe: string; from: number; to: number; limit: number }): Promise<VolumeProfile[]> {
    return this.profileSeries.get(`${symbol}|${timeframe}`)?.range(from, to, limit) ?? [];
  }

  async stats(symbol: string, now: number): Promise<SymbolStats | undefined> {
    const last = this.last.get(symbol);
    if (last === undefined) return undefined;
    const bars = this.candleSeries.get(`${symbol}|1m`)?.range(now - DAY, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER) ?? [];
    return statsOf(symbol, last, bars, this.ticksLastMinute(symbol));
  }

  /** Trades in the latest 1m tick-count window of a symbol (0 when none). */
  ticksLastMinute(symbol: string): number {
    return this.tickSeries.get(`${symbol}|1m`)?.bars.at(-1)?.trades ?? 0;
  }

  lastPrice(symbol: string): number | undefined {
    return this.last.get(symbol)?.price;
  }

  /** The latest trade of a symbol. */
  lastTrade(symbol: string): Trade | undefined {
    return this.last.get(symbol);
  }

  /**
   * Whether a range answered from this store is complete: it returned the
   * `limit` newest items asked for, or the range starts after both the store
   * began receiving data and the oldest item retention kept. Full mode answers
   * an incomplete range with 503 when no configured store can answer.
   */
  covers(kind: 'trades' | 'candles' | 'profiles', q: { symbol: string; timeframe?: string; from: number; limit: number }, got: number): boolean {
    if (got >= q.limit) return true;
    let since = this.startedAt;
    if (kind === 'trades') {
      const ring = this.tradeRings.get(q.symbol);
      if (ring !== undefined && ring.length === ring.capacity) since = Math.max(since, ring.tsAt(0));
    } else {
      const s = (kind === 'candles' ? this.candleSeries : this.profileSeries).get(`${q.symbol}|${q.timeframe}`);
      if (s?.evicted === true) since = Math.max(since, s.bars[0]?.start ?? Number.POSITIVE_INFINITY);
    }
    return q.from >= since;
  }
}

function series<W extends { start: number; rev: number }>(map: Map<string, WindowSeries<W>>, id: string, limit: number): WindowSeries<W> {
  let s = map.get(id);
  if (s === undefined) {
    s = new WindowSeries<W>(limit);
    map.set(id, s);
  }
  return s;
}

/** 24h stats from the last trade and the 1m candles of the last day (exported for tests). */
export function statsOf(symbol: string, last: Trade, bars: readonly Candle[], ticksLastMinute: number): SymbolStats {
  let high = last.price;
  let low = last.price;
  let volume = 0;
  let notional = 0;
  let trades = 0;
  for (const b of bars) {
    if (b.high > high) high = b.high;
    if (b.low < low) low = b.low;
    volume += b.volume;
    notional += b.vwap * b.volume;
    trades += b.trades;
  }
  const open = bars[0]?.open ?? last.price;
  const change = last.price - open;
  return {
    symbol,
    last: last.price,
    lastTs: last.ts,
    open24h: open,
    change24h: change,
    changePct24h: open === 0 ? 0 : (change / open) * 100,
    high24h: high,
    low24h: low,
    volume24h: volume,
    vwap24h: volume === 0 ? last.price : notional / volume,
    trades24h: trades,
    ticksLastMinute,
  };
}
