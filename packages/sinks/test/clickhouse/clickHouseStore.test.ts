import { TickflowError, collect, fromArray, pipeline } from '@tickflow/core';
import type { Candle, DeadLetter, Trade } from '@tickflow/core';
import { freePort, startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStore, clickhouse } from '../../src/clickhouse/index.js';
import { canonical, latest, marketTrades, runPipelines, testDatabase } from './marketData.js';

let server: ClickHouseService;
let store: ClickHouseStore;
const database = testDatabase('store');
const logs: string[] = [];

async function sql(query: string): Promise<string> {
  const res = await fetch(`${server.url}/`, { method: 'POST', body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(text);
  return text.trim();
}

beforeAll(async () => {
  server = await startClickHouse();
  store = await ClickHouseStore.connect({ url: server.url, database, log: (m) => logs.push(m) });
}, 300_000); // the first run on a machine installs clickhouse-server

afterAll(async () => {
  await store?.close();
  if (server !== undefined) {
    for (const db of [database, `${database}_lazy`, `${database}_clash`]) await sql(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
    await server.stop();
  }
});

function candle(symbol: string, start: number, rev: number, close: number): Candle {
  return { symbol, timeframe: '1m', start, end: start + 60_000, open: 1, high: Math.max(2, close), low: 0.5, close, volume: 10, trades: 3, vwap: 1.25, buyVolume: 4, sellVolume: 6, final: true, rev };
}

describe('ClickHouseStore on ClickHouse 18.16', () => {
  it('detects the server version and logs the schema it chose for it', () => {
    const caps = store.shards[0]!.capabilities;
    if (caps.version.startsWith('18.')) {
      expect(caps).toMatchObject({ ttl: false, dateTime64: false, lowCardinality: false });
      expect(logs.join('\n')).toMatch(/ClickHouse 18\.16.*no TTL.*UInt64 epoch ms.*String/);
    }
    expect(logs).toHaveLength(1);
  });

  it('stores what the windowing operators emit and reads back the final, highest rev of every window', async () => {
    const trades = marketTrades({ count: 12_000 });
    const sinks = { trades: store.sink('trades'), candles: store.sink('candles'), volumeProfiles: store.sink('volumeProfiles'), tickCounts: store.sink('tickCounts') };
    const emitted = await runPipelines(trades, sinks);
    expect(emitted.candles.some((c) => c.rev > 1)).toBe(true);

    const stored = await store.readTrades();
    expect(stored).toHaveLength(trades.length);
    expect(canonical(stored)).toStrictEqual(canonical(trades));
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.ts).toBeGreaterThanOrEqual(stored[i - 1]!.ts);

    const candles1m = latest(emitted.candles.filter((c) => c.timeframe === '1m'));
    const candles5m = latest(emitted.candles.filter((c) => c.timeframe === '5m'));
    expect(candles5m.length).toBeGreaterThan(0);
    expect(await store.readCandles({ timeframe: '1m' })).toStrictEqual(candles1m);
    expect(await store.readCandles({ timeframe: '5m' })).toStrictEqual(candles5m);
    expect(await store.readVolumeProfiles({ timeframe: '1m' })).toStrictEqual(latest(emitted.volumeProfiles));
    expect(await store.readTickCounts()).toStrictEqual(latest(emitted.tickCounts));

    // One symbol, a time range, a limit.
    const sym = candles1m[0]!.symbol;
    const from = candles1m[0]!.start + 120_000;
    const to = from + 180_000;
    expect(await store.readCandles({ symbol: sym, timeframe: '1m', from, to })).toStrictEqual(candles1m.filter((c) => c.symbol === sym && c.start >= from && c.start < to));
    const symTrades = stored.filter((t) => t.symbol === sym && t.ts >= from && t.ts < to);
    expect(canonical(await store.readTrades({ symbol: sym, from, to }))).toStrictEqual(canonical(symTrades));
    expect(await store.readTrades({ symbol: sym, from, to, limit: 5 })).toHaveLength(5);
    // A limit on windows keeps the newest, still in time order (one symbol, and all symbols).
    const symCandles = candles1m.filter((c) => c.symbol === sym);
    expect(symCandles.length).toBeGreaterThan(3);
    expect(await store.readCandles({ symbol: sym, timeframe: '1m', limit: 3 })).toStrictEqual(symCandles.slice(-3));
    expect(await store.readCandles({ timeframe: '1m', limit: 4 })).toStrictEqual(candles1m.slice(-4));
    expect(await store.readTickCounts({ limit: 2 })).toStrictEqual(latest(emitted.tickCounts).slice(-2));
  });

  it('keeps one row per key when the same batch of trades or candles is written twice', async () => {
    const trades = marketTrades({ count: 500, seed: 99, start: Date.UTC(2024, 2, 1) });
    const range = { from: Date.UTC(2024, 2, 1) - 10_000, to: Date.UTC(2024, 2, 2) };
    await store.writeTrades(trades);
    await store.writeTrades(trades);
    const sink = store.sink('trades');
    await sink.write(trades);
    await sink.write(trades);
    await sink.close();
    expect(canonical(await store.readTrades(range))).toStrictEqual(canonical(trades));

    const start = Date.UTC(2024, 2, 1);
    const batch = [candle('IDEM', start, 1, 1), candle('IDEM', start + 60_000, 1, 1.5)];
    await store.writeCandles(batch);
    await store.writeCandles(batch);
    expect(await store.readCandles({ symbol: 'IDEM', timeframe: '1m' })).toStrictEqual(batch);
  });

  it('lets a higher rev replace a lower one and never the other way round', async () => {
    const start = Date.UTC(2024, 2, 3);
    await store.writeCandles([candle('REV', start, 2, 2)]);
    await store.writeCandles([candle('REV', start, 1, 1)]);
    expect(await store.readCandles({ symbol: 'REV', timeframe: '1m' })).toStrictEqual([candle('REV', start, 2, 2)]);
    const sink = store.sink('candles');
    await sink.write([candle('REV', start, 3, 3), candle('REV', start, 1, 1)]);
    await sink.close();
    expect(await store.readCandles({ symbol: 'REV', timeframe: '1m' })).toStrictEqual([candle('REV', start, 3, 3)]);
  });

  it('sends bad rows to the dead-letter output with the reason and stores the good rows of the same batch', async () => {
    const ts = Date.UTC(2024, 3, 1);
    const good: Trade[] = [
      { symbol: 'GOOD', ts, price: 10, size: 1, id: 'g1' },
      { symbol: 'GOOD', ts: ts + 1, price: 11, size: 2, id: 'g2' },
    ];
    const bad: Trade[] = [
      { symbol: 'GOOD', ts: ts + 2, price: Number.NaN, size: 1, id: 'b1' },
      { symbol: 'GOOD', ts: ts + 3, price: 10, size: -5, id: 'b2' },
      { symbol: 'X'.repeat(40), ts: ts + 4, price: 10, size: 1, id: 'b3' },
    ];
    const letters = collect<DeadLetter>();
    const sink = store.sink('trades', { deadLetter: letters });
    await pipeline(fromArray([good[0]!, bad[0]!, bad[1]!, good[1]!, bad[2]!])).to(sink).run();
    expect(await store.readTrades({ from: ts, to: ts + 10 })).toStrictEqual(good);
    expect(letters.values.map((l) => l.input)).toStrictEqual(bad);
    expect(letters.values[0]!.reason).toMatch(/price must be a finite number, got NaN/);
    expect(letters.values[1]!.reason).toMatch(/size must be ≥ 0, got -5/);
    expect(letters.values[2]!.reason).toMatch(/symbol must be at most 32 characters, got 40/);
    expect(sink.stats.rowsRejected).toBe(3);

    const candleLetters = collect<DeadLetter>();
    const candles = store.sink('candles', { deadLetter: candleLetters });
    await candles.write([{ ...candle('TF', ts, 1, 1), timeframe: '15m', end: ts + 900_000 }, candle('TF', ts, 1, 1)]);
    await candles.close();
    expect(candleLetters.values[0]!.reason).toMatch(/no ClickHouse table ohlc_15m.*timeframes option/);
    expect(await store.readCandles({ symbol: 'TF', timeframe: '1m' })).toHaveLength(1);
  });

  it('refuses a bad row in a direct write without writing any of the call', async () => {
    const ts = Date.UTC(2024, 4, 1);
    const err = await store.writeTrades([{ symbol: 'DIRECT', ts, price: 1, size: 1 }, { symbol: 'DIRECT', ts, price: -1, size: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TickflowError);
    expect((err as TickflowError).code).toBe('INVALID_ARGUMENT');
    expect((err as TickflowError).message).toMatch(/row 1.*price must be > 0/);
    expect(await store.readTrades({ symbol: 'DIRECT' })).toStrictEqual([]);
  });

  it('connects lazily from clickhouse() in a pipeline and closes its own store at the end', async () => {
    const trades = marketTrades({ count: 300, seed: 5 });
    const sink = clickhouse({ url: server.url, database: `${database}_lazy`, kind: 'trades', log: () => {}, maxBatchSize: 100 });
    await pipeline(fromArray(trades)).to(sink).run();
    expect(sink.stats.rowsWritten).toBe(trades.length);
    const reader = await ClickHouseStore.connect({ url: server.url, database: `${database}_lazy`, log: () => {} });
    try {
      expect(canonical(await reader.readTrades())).toStrictEqual(canonical(trades));
    } finally {
      await reader.close();
    }
    expect(() => sink.enqueue(trades)).toThrow(/closed/);
  });

  it('fails with a clear error when the server cannot be reached or the options are wrong', async () => {
    const port = await freePort();
    const err = await ClickHouseStore.connect({ url: `http://127.0.0.1:${port}`, log: () => {}, requestTimeout: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TickflowError);
    expect((err as TickflowError).code).toBe('SINK_FAILED');
    expect((err as TickflowError).message).toContain(`127.0.0.1:${port}`);
    expect(() => clickhouse({ url: 'not a url', kind: 'trades' })).toThrow(/invalid ClickHouse store options: url/);
    expect(() => clickhouse({ url: server.url, kind: 'candles', timeframes: ['1 minute'] })).toThrow(/timeframes/);
    await expect(store.readCandles({ timeframe: '15m' })).rejects.toThrow(/no ClickHouse table ohlc_15m/);
  });

  it('refuses an existing table whose columns differ from what it writes', async () => {
    await sql(`CREATE DATABASE IF NOT EXISTS ${database}_clash`);
    await sql(`CREATE TABLE ${database}_clash.trades_raw (symbol String, ts UInt64) ENGINE = MergeTree ORDER BY (symbol, ts)`);
    const err = await ClickHouseStore.connect({ url: server.url, database: `${database}_clash`, log: () => {} }).catch((e: unknown) => e);
    expect((err as TickflowError).code).toBe('SINK_FAILED');
    expect((err as TickflowError).message).toMatch(/trades_raw exists but does not match.*drop or rename it/);
  });
});
