import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { Redis } from 'ioredis';
import { where } from './redisConnection.js';
import { redisKey } from './redisKeys.js';
import type { ResolvedRedisOptions } from './redisStoreOptions.js';

/** The latest quote of a symbol and how many distinct quotes were counted for it. */
export interface RedisQuoteState {
  readonly quote: Quote;
  readonly count: number;
}

/**
 * The reads of a Redis store (RedisStore extends it): the latest price,
 * trade, quote and windows of a symbol, and its kept trade history. Reads
 * do not retry; a failure is a `SINK_FAILED` saying what was read.
 */
export abstract class RedisReads {
  protected constructor(
    protected readonly client: Redis,
    protected readonly o: ResolvedRedisOptions,
  ) {}

  /** The key for `kind` and symbol (and timeframe), with the prefix: for tools that read Redis directly. */
  key(kind: 'price' | 'priceHistory' | 'quotes', symbol: string): string;
  key(kind: 'candle' | 'tickCount' | 'volumeProfile', symbol: string, timeframe: string): string;
  key(kind: 'price' | 'priceHistory' | 'quotes' | 'candle' | 'tickCount' | 'volumeProfile', symbol: string, timeframe?: string): string {
    return redisKey(this.o.keyPrefix, kind, symbol, timeframe);
  }

  /** Runs a read; a driver failure comes out as SINK_FAILED saying what was read. */
  protected async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `redis: reading ${what} failed (${where(this.o)}): ${describeError(e)}`, { cause: e });
    }
  }

  /**
   * The latest trade price of a symbol, or undefined when none was written
   * in the last `priceTtl`.
   *
   * @example
   * ```ts
   * const price = await store.getPrice('AAPL'); // 150.25
   * ```
   */
  async getPrice(symbol: string): Promise<number | undefined> {
    const v = await this.read(`the price of ${symbol}`, () => this.client.hget(this.key('price', symbol), 'price'));
    return v === null ? undefined : Number(v);
  }

  /**
   * The latest trade of a symbol (by event time) as stored in `price:{symbol}`
   * (symbol, ts, price, size, side and id), or undefined.
   *
   * @example
   * ```ts
   * const last = await store.getLastTrade('AAPL'); // { symbol: 'AAPL', ts, price, size, side, id }
   * ```
   */
  async getLastTrade(symbol: string): Promise<Trade | undefined> {
    const h = await this.read(`the last trade of ${symbol}`, () => this.client.hgetall(this.key('price', symbol)));
    if (h.ts === undefined) return undefined;
    const t: Trade = { symbol, ts: Number(h.ts), price: Number(h.price), size: Number(h.size) };
    if (h.side === 'buy' || h.side === 'sell') t.side = h.side;
    if (h.id !== undefined && h.id !== '') t.id = h.id;
    return t;
  }

  /**
   * The last `n` trades of a symbol kept in `price_history:{symbol}`, oldest
   * first (at most `historyLength`).
   *
   * @example
   * ```ts
   * const last100 = await store.getPriceHistory('AAPL', 100);
   * ```
   */
  async getPriceHistory(symbol: string, n = this.o.historyLength): Promise<Trade[]> {
    if (!(Number.isInteger(n) && n >= 0)) throw new TickflowError('INVALID_ARGUMENT', `getPriceHistory: n must be a non-negative integer, got ${n}`);
    if (n === 0) return [];
    const members = await this.read(`the price history of ${symbol}`, () => this.client.zrange(this.key('priceHistory', symbol), -n, -1));
    return members.map((m) => historyTrade(symbol, m));
  }

  /**
   * Trades of a symbol from the kept history with `from ≤ ts < to`, oldest
   * first (Redis keeps only the last `historyLength` per symbol).
   *
   * @example
   * ```ts
   * const trades = await store.readTrades({ symbol: 'AAPL', from: Date.now() - 60_000, to: Date.now() });
   * ```
   */
  async readTrades({ symbol, from, to, limit }: { symbol: string; from: number; to: number; limit?: number }): Promise<Trade[]> {
    const key = this.key('priceHistory', symbol);
    const members = await this.read(`trades of ${symbol}`, () =>
      limit === undefined ? this.client.zrangebyscore(key, from, `(${to}`) : this.client.zrangebyscore(key, from, `(${to}`, 'LIMIT', 0, limit),
    );
    return members.map((m) => historyTrade(symbol, m));
  }

  /**
   * The latest candle of a symbol and timeframe (highest start, then rev), or
   * undefined when none was written in the last `aggregateTtl`.
   *
   * @example
   * ```ts
   * const candle = await store.getCandle('AAPL', '1m');
   * ```
   */
  async getCandle(symbol: string, timeframe: string): Promise<Candle | undefined> {
    return this.getJson<Candle>(this.key('candle', symbol, timeframe), `the ${timeframe} candle of ${symbol}`);
  }

  /**
   * The latest tick count of a symbol and timeframe, or undefined.
   *
   * @example
   * ```ts
   * const ticks = await store.getTickCount('AAPL', '1m');
   * ```
   */
  async getTickCount(symbol: string, timeframe: string): Promise<TickCount | undefined> {
    return this.getJson<TickCount>(this.key('tickCount', symbol, timeframe), `the ${timeframe} tick count of ${symbol}`);
  }

  /**
   * The latest volume profile of a symbol and timeframe, or undefined.
   *
   * @example
   * ```ts
   * const profile = await store.getVolumeProfile('AAPL', '1m');
   * ```
   */
  async getVolumeProfile(symbol: string, timeframe: string): Promise<VolumeProfile | undefined> {
    return this.getJson<VolumeProfile>(this.key('volumeProfile', symbol, timeframe), `the ${timeframe} volume profile of ${symbol}`);
  }

  private async getJson<T>(key: string, what: string): Promise<T | undefined> {
    const v = await this.read(what, () => this.client.get(key));
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  /**
   * How many distinct quotes were counted for a symbol (0 when none).
   *
   * @example
   * ```ts
   * const n = await store.getQuoteCount('AAPL');
   * ```
   */
  async getQuoteCount(symbol: string): Promise<number> {
    const v = await this.read(`the quote count of ${symbol}`, () => this.client.hget(this.key('quotes', symbol), 'count'));
    return v === null ? 0 : Number(v);
  }

  /**
   * The latest quote of a symbol and its quote count, or undefined.
   *
   * @example
   * ```ts
   * const state = await store.getQuote('AAPL'); // { quote: { symbol, ts, bid, ask, … }, count }
   * ```
   */
  async getQuote(symbol: string): Promise<RedisQuoteState | undefined> {
    const h = await this.read(`the quote of ${symbol}`, () => this.client.hgetall(this.key('quotes', symbol)));
    if (h.ts === undefined) return undefined;
    const quote: Quote = { symbol, ts: Number(h.ts), bid: Number(h.bid), ask: Number(h.ask) };
    const bidSize = num(h.bidSize);
    const askSize = num(h.askSize);
    if (bidSize !== undefined) quote.bidSize = bidSize;
    if (askSize !== undefined) quote.askSize = askSize;
    return { quote, count: Number(h.count ?? 0) };
  }
}

function num(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

/** A trade of the history set from its member `ts|price|size|side|(i=id, k=derived key)key`. */
function historyTrade(symbol: string, member: string): Trade {
  const a = member.indexOf('|');
  const b = member.indexOf('|', a + 1);
  const c = member.indexOf('|', b + 1);
  const d = member.indexOf('|', c + 1);
  const t: Trade = { symbol, ts: Number(member.slice(0, a)), price: Number(member.slice(a + 1, b)), size: Number(member.slice(b + 1, c)) };
  const side = member.slice(c + 1, d);
  if (side === 'buy' || side === 'sell') t.side = side;
  if (member.charAt(d + 1) === 'i') t.id = member.slice(d + 2);
  return t;
}
