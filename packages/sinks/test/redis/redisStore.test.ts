import { TickflowError, collect, fromArray, keyBy, pipeline, tap } from '@tickflow/core';
import type { Candle, DeadLetter, Quote, Trade } from '@tickflow/core';
import { startRedis } from '@tickflow/test-services';
import type { RunningService } from '@tickflow/test-services';
import { eventually } from '@tickflow/test-services/eventually';
import { ohlcv, tumbling } from '@tickflow/windowing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, redis } from '../../src/redis/index.js';
import type { RedisStoreOptions, RedisUpdate } from '../../src/redis/index.js';
import { bySymbol, historyOrder, lastTrades, latestCandles, makeQuotes, makeTrades, quiet, rawClient } from './redisTestKit.js';

let server: RunningService;
let raw: Redis;
const stores: RedisStore[] = [];
let prefixes = 0;

/** A store on the shared server with a key prefix of its own, so tests do not see each other's keys. */
async function store(options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
  const s = await RedisStore.connect({ url: server.url, keyPrefix: `t${++prefixes}:`, channel: `updates:${prefixes}`, log: quiet, ...options } as RedisStoreOptions);
  stores.push(s);
  return s;
}

beforeAll(async () => {
  server = await startRedis();
  raw = rawClient(server.host, server.port);
});

afterAll(async () => {
  for (const s of stores) await s.close();
  raw?.disconnect();
  await server?.stop();
});

describe('RedisStore', () => {
  it('stores the latest price, a bounded history and the latest 1m/5m candles the operators produced, with the designed TTLs', async () => {
    const s = await store({ historyLength: 100 });
    const trades = makeTrades(6_000); // 5 symbols, ~5 minutes of event time
    const tradesStarted = Date.now();
    await pipeline(fromArray(trades, { batchSize: 700 })).to(s.sink('trades', { maxBatchSize: 500 })).run();
    const produced: Candle[] = [];
    const candlesStarted = Date.now();
    await pipeline(fromArray(trades, { batchSize: 700 }))
      .pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()), tap((c: Candle) => produced.push(c)))
      .to(s.sink('candles', { maxBatchSize: 7 }))
      .run();

    const last = lastTrades(trades);
    const latest = latestCandles(produced);
    expect(last.size).toBe(5);
    expect([...latest.keys()].filter((k) => k.endsWith(':5m'))).toHaveLength(5);
    const groups = bySymbol(trades);
    for (const [symbol, t] of last) {
      expect(await s.getPrice(symbol)).toBe(t.price);
      expect(await s.getLastTrade(symbol)).toEqual({ symbol, ts: t.ts, price: t.price, size: t.size, side: t.side, id: t.id });
      for (const tf of ['1m', '5m']) expect(await s.getCandle(symbol, tf)).toEqual(latest.get(`${symbol}:${tf}`));
      // The last price is the close of the last candle: the same "latest by event time" rule.
      expect((await s.getCandle(symbol, '1m'))!.close).toBe(t.price);
      const history = await s.getPriceHistory(symbol, 100);
      expect(history).toEqual(historyOrder(groups.get(symbol)!).slice(-100));
      expect(await s.getPriceHistory(symbol, 3)).toEqual(history.slice(-3));
      expect(await raw.zcard(s.key('priceHistory', symbol))).toBe(100);

      const pttlPrice = await raw.pttl(s.key('price', symbol));
      expect(pttlPrice).toBeGreaterThanOrEqual(5_000 - (Date.now() - tradesStarted));
      expect(pttlPrice).toBeLessThanOrEqual(5_000);
      const pttlCandle = await raw.pttl(s.key('candle', symbol, '1m'));
      expect(pttlCandle).toBeGreaterThanOrEqual(60_000 - (Date.now() - candlesStarted));
      expect(pttlCandle).toBeLessThanOrEqual(60_000);
      expect(await raw.pttl(s.key('priceHistory', symbol))).toBe(-1);
    }
    expect(await raw.type(s.key('price', 'SYM0001'))).toBe('hash');
    expect(await raw.hget(s.key('price', 'SYM0001'), 'price')).toBe(String(last.get('SYM0001')!.price));
    expect(await s.getPrice('NOPE')).toBeUndefined();
    expect(await s.getCandle('NOPE', '1m')).toBeUndefined();
  });

  it('reads trades of a time range from the kept history, oldest first, with from inclusive and to exclusive', async () => {
    const s = await store();
    const trades = makeTrades(500, { symbols: 1 });
    await s.writeTrades(trades);
    const from = trades[100]!.ts;
    const to = trades[200]!.ts;
    const expected = historyOrder(trades.filter((t) => t.ts >= from && t.ts < to));
    expect(await s.readTrades({ symbol: 'SYM0001', from, to })).toEqual(expected);
    expect(await s.readTrades({ symbol: 'SYM0001', from, to, limit: 5 })).toEqual(expected.slice(0, 5));
  });

  it('counts quotes and keeps the latest quote per symbol', async () => {
    const s = await store();
    const quotes = makeQuotes(2_000);
    const sink = s.sink('quotes', { maxBatchSize: 300 });
    await pipeline(fromArray(quotes, { batchSize: 450 })).to(sink).run();
    for (const [symbol, list] of bySymbol(quotes)) {
      const distinct = new Set(list.map((q) => `${q.ts}|${q.bid}|${q.ask}|${q.bidSize}|${q.askSize}`)).size;
      expect(await s.getQuoteCount(symbol)).toBe(distinct);
      const lastQ = list.at(-1)!;
      expect(await s.getQuote(symbol)).toEqual({ quote: { symbol, ts: lastQ.ts, bid: lastQ.bid, ask: lastQ.ask, bidSize: lastQ.bidSize, askSize: lastQ.askSize }, count: distinct });
    }
    expect(await s.getQuoteCount('NOPE')).toBe(0);
  });

  it('leaves the same state when the same batch is written twice (history, price, quote counts, candles)', async () => {
    const s = await store();
    const trades = makeTrades(1_000);
    const quotes = makeQuotes(1_000);
    const candles: Candle[] = [];
    await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()), tap((c: Candle) => candles.push(c))).to(collect<Candle>()).run();

    const snapshot = async (): Promise<unknown> => {
      const out: Record<string, unknown> = {};
      for (const symbol of bySymbol(trades).keys()) {
        out[symbol] = {
          history: await raw.zrange(s.key('priceHistory', symbol), 0, -1),
          price: await raw.hgetall(s.key('price', symbol)),
          quotes: await raw.hgetall(s.key('quotes', symbol)),
          candle: await raw.get(s.key('candle', symbol, '1m')),
        };
      }
      return out;
    };
    await s.writeTrades(trades);
    await s.writeQuotes(quotes);
    await s.writeCandles(candles);
    const once = await snapshot();
    await s.writeTrades(trades);
    await s.writeQuotes(quotes);
    await s.writeCandles(candles);
    expect(await snapshot()).toEqual(once);
    // And through the sink, whose retries resend the same row objects.
    await s.sink('trades', { maxBatchSize: 333 }).write(trades);
    expect(await snapshot()).toEqual(once);
    const counts = [...bySymbol(quotes).values()].map((l) => l.length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  it('keeps the last historyLength trades per symbol whatever the batches, ids with newlines and bars included', async () => {
    // The history goes to Redis as one newline-separated string per symbol; members whose id holds a newline take plain ZADD.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 6; round++) {
      const s = await store({ historyLength: 1 + round * 7 });
      const trades: Trade[] = [];
      for (let i = 0; i < 400; i++) {
        const symbol = `H${Math.floor(rnd() * 3)}`;
        const kind = rnd();
        const id = kind < 0.15 ? `x\n${i}|y` : kind < 0.3 ? undefined : kind < 0.4 ? `a|b|${i}` : `id${i}`;
        // Few distinct ms: many trades share a score, ordered then by the member.
        trades.push({ symbol, ts: 1_705_660_000_000 + Math.floor(rnd() * 40), price: 100 + Math.floor(rnd() * 50) / 4, size: 1 + Math.floor(rnd() * 9), side: rnd() < 0.5 ? 'buy' : 'sell', ...(id === undefined ? {} : { id }) });
      }
      for (let from = 0; from < trades.length; ) {
        const n = 1 + Math.floor(rnd() * 120);
        await s.writeTrades(trades.slice(from, from + n));
        from += n;
      }
      const keep = 1 + round * 7;
      for (const [symbol, list] of bySymbol(trades)) {
        expect(await raw.zcard(s.key('priceHistory', symbol))).toBe(Math.min(keep, list.length));
        // Ids with a newline or bars come back as written (trades without an id get a derived key, not shown).
        expect(await s.getPriceHistory(symbol)).toEqual(historyOrder(list).slice(-keep));
      }
    }
  });

  it('stores trades without exchange ids once per trade, keeps identical prints apart, and a restarted writer replays them idempotently', async () => {
    const s = await store();
    const base = { symbol: 'NOID', ts: 1_705_660_245_123, price: 150.25, size: 100 } as const;
    const batch: Trade[] = [{ ...base }, { ...base }, { ...base, ts: base.ts + 1 }];
    await s.writeTrades(batch);
    await s.writeTrades(batch);
    expect(await raw.zcard(s.key('priceHistory', 'NOID'))).toBe(3);
    // A restarted process (new store, new trade keyer) re-reads the same input: nothing doubles.
    const restarted = await store({ keyPrefix: `t${prefixes}:` });
    await restarted.writeTrades(batch.map((t) => ({ ...t })));
    expect(await raw.zcard(s.key('priceHistory', 'NOID'))).toBe(3);
    expect(await s.getPriceHistory('NOID')).toEqual([{ ...base }, { ...base }, { ...base, ts: base.ts + 1 }]);
  });

  it('never lets a replayed older candle overwrite a newer one', async () => {
    const s = await store();
    const c = (start: number, rev: number, close: number): Candle => ({
      symbol: 'AAPL', timeframe: '1m', start, end: start + 60_000, open: 1, high: Math.max(1, close), low: Math.min(1, close), close, volume: 10, trades: 2, vwap: 1, buyVolume: 5, sellVolume: 5, final: true, rev,
    });
    const m = 1_705_660_200_000;
    await s.writeCandles([c(m, 2, 3)]);
    await s.writeCandles([c(m, 1, 2)]); // lower rev of the same window
    expect(await s.getCandle('AAPL', '1m')).toEqual(c(m, 2, 3));
    await s.writeCandles([c(m, 3, 4)]); // a correction
    expect(await s.getCandle('AAPL', '1m')).toEqual(c(m, 3, 4));
    await s.writeCandles([c(m + 60_000, 1, 5)]); // the next minute
    await s.writeCandles([c(m, 9, 6)]); // an older window, whatever its rev
    expect(await s.getCandle('AAPL', '1m')).toEqual(c(m + 60_000, 1, 5));
    // Inside one batch, order does not matter either.
    await s.writeCandles([c(m + 120_000, 2, 7), c(m + 120_000, 1, 8), c(m + 60_000, 4, 9)]);
    expect(await s.getCandle('AAPL', '1m')).toEqual(c(m + 120_000, 2, 7));
  });

  it('publishes what it writes on the updates channel, and stale candles not at all', async () => {
    const s = await store();
    const updates: RedisUpdate[] = [];
    const unsubscribe = await s.subscribe((u) => updates.push(u));
    const trades = makeTrades(50);
    const quotes = makeQuotes(20);
    const produced = collect<Candle>();
    await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(produced).run();
    await s.writeTrades(trades);
    await s.writeQuotes(quotes);
    await s.writeCandles(produced.values);
    const newer = produced.values[0]!.rev + 2;
    const stale = { ...produced.values[0]!, close: 999, high: 999 }; // the produced rev, after a higher one was stored
    await s.writeCandles([{ ...produced.values[0]!, rev: newer }]);
    await s.writeCandles([stale]);
    await s.writeTickCounts([{ symbol: 'AAPL', timeframe: '1m', start: 0, end: 60_000, trades: 3, buyTrades: 2, sellTrades: 1, final: true, rev: 1 }]);
    await eventually('the five updates arrived', () => updates.length >= 5);
    await unsubscribe();
    expect(updates.map((u) => u.type)).toEqual(['trades', 'quotes', 'candles', 'candles', 'tickCounts']);
    expect(updates[0]!.items).toEqual(trades);
    expect(updates[1]!.items).toEqual(quotes);
    expect(updates[2]!.items).toEqual(produced.values);
    expect(updates[3]!.items).toEqual([{ ...produced.values[0]!, rev: newer }]);
    expect(updates[4]).toEqual({ type: 'tickCounts', items: [{ symbol: 'AAPL', timeframe: '1m', start: 0, end: 60_000, trades: 3, buyTrades: 2, sellTrades: 1, final: true, rev: 1 }] });
    // After unsubscribing nothing more arrives: a second subscriber proves the update was published.
    const marker: RedisUpdate[] = [];
    const unsubscribeMarker = await s.subscribe((u) => marker.push(u));
    await s.writeTrades(trades);
    await eventually('the second subscriber got the trades', () => marker.some((u) => u.type === 'trades'));
    await unsubscribeMarker();
    expect(updates).toHaveLength(5);
  });

  it('sends NaN prices, negative sizes and over-long symbols to the dead-letter output with the reason, never to Redis', async () => {
    const s = await store();
    const letters = collect<DeadLetter>();
    const good: Trade = { symbol: 'GOOD', ts: 1_705_660_245_123, price: 10, size: 1, id: 'g1' };
    const bad: Trade[] = [
      { symbol: 'BADNAN', ts: 1_705_660_245_124, price: Number.NaN, size: 1, id: 'b1' },
      { symbol: 'BADSIZE', ts: 1_705_660_245_125, price: 10, size: -5, id: 'b2' },
      { symbol: 'X'.repeat(40), ts: 1_705_660_245_126, price: 10, size: 1, id: 'b3' },
    ];
    const sink = s.sink('trades', { deadLetter: letters });
    await sink.write([bad[0]!, good, bad[1]!, bad[2]!]);
    await sink.close();
    expect(letters.values.map((l) => l.input)).toEqual(bad);
    expect(letters.values[0]!.reason).toMatch(/^redis:trades: price must be a finite number, got NaN/);
    expect(letters.values[1]!.reason).toMatch(/^redis:trades: size must be ≥ 0, got -5/);
    expect(letters.values[2]!.reason).toMatch(/^redis:trades: symbol must be at most 32 characters, got 40/);
    expect(sink.stats.rowsRejected).toBe(3);
    expect((await raw.keys(`t${prefixes}:*`)).sort()).toEqual([s.key('price', 'GOOD'), s.key('priceHistory', 'GOOD')]);
    // Writing directly refuses the whole batch.
    await expect(s.writeTrades([good, bad[0]!])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/row 1 .*price must be a finite number/) });
    const badQuote = { symbol: 'Q', ts: 1, bid: Number.POSITIVE_INFINITY, ask: 1 } as Quote;
    await expect(s.writeQuotes([badQuote])).rejects.toBeInstanceOf(TickflowError);
  });

  it('rejects bad options and an unreachable server with typed errors', async () => {
    await expect(RedisStore.connect({} as RedisStoreOptions)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/exactly one of `url`/) });
    await expect(RedisStore.connect({ sentinels: [{ host: '127.0.0.1', port: 1 }] } as RedisStoreOptions)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/needs `name`/) });
    await expect(RedisStore.connect({ url: 'http://x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(RedisStore.connect({ url: server.url, priceTtl: 'soon' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/priceTtl/) });
    expect(() => redis({ url: server.url, kind: 'orders' as 'trades' })).toThrow(/unknown sink kind "orders"/);
    const started = Date.now();
    await expect(RedisStore.connect({ url: 'redis://127.0.0.1:1', log: quiet, connectTimeout: 500 })).rejects.toMatchObject({ code: 'SINK_FAILED', message: expect.stringMatching(/could not connect to Redis \(redis:\/\/127\.0\.0\.1:1\)/) });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('logs what it connected to', async () => {
    const lines: string[] = [];
    await store({ log: (m) => lines.push(m) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^redis: single node at 127\.0\.0\.1:\d+ \(Redis 7\.\d+\.\d+, 0 replica\(s\)\); writes wait for 0 replica ack\(s\)/);
  });
});

describe('redis()', () => {
  it('connects on the first write, writes candles from a pipeline and closes its connection with the sink', async () => {
    const trades = makeTrades(2_000);
    const produced: Candle[] = [];
    const before = Number(/connected_clients:(\d+)/.exec(await raw.info('clients'))![1]);
    const sink = redis({ url: server.url, kind: 'candles', keyPrefix: 'factory:', log: quiet, maxBatchSize: 50 });
    expect(Number(/connected_clients:(\d+)/.exec(await raw.info('clients'))![1])).toBe(before);
    await pipeline(fromArray(trades)).pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'] }, ohlcv()), tap((c: Candle) => produced.push(c))).to(sink).run();
    const s = await store({ keyPrefix: 'factory:' });
    for (const [key, c] of latestCandles(produced)) {
      const [symbol, tf] = key.split(':') as [string, string];
      expect(await s.getCandle(symbol, tf)).toEqual(c);
    }
    expect(sink.stats.rowsWritten).toBe(produced.length);
    // Only the checking store's connection is left (the server sees the sink's connection go shortly after it closed).
    const clients = async () => Number(/connected_clients:(\d+)/.exec(await raw.info('clients'))![1]);
    await eventually('only the checking store is connected', async () => (await clients()) === before + 1);
  });
});
