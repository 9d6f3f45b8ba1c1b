import { TickflowError, fromArray, keyBy, pipeline, tap } from '@tickflow/core';
import { syntheticTrades } from '@tickflow/core/synthetic';
import type { Candle, DeadLetter, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { SyntheticFeedOptions } from '@tickflow/core/synthetic';
import { freePort, startPostgres, startTimescale } from '@tickflow/test-services';
import type { RunningService } from '@tickflow/test-services';
import { eventually } from '@tickflow/test-services/eventually';
import { ohlcv, tickCount, tumbling, volumeProfile } from '@tickflow/windowing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimescaleStore, timescale } from '../../src/timescale/index.js';
import type { TimescaleStoreOptions } from '../../src/timescale/index.js';

let pg: RunningService;
let ts: RunningService;

beforeAll(async () => {
  [pg, ts] = await Promise.all([startPostgres(), startTimescale()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), ts?.stop()]);
});

let schemas = 0;
/** A schema of its own per test, so tests never see each other's rows (even on a shared DATABASE_URL server). */
const freshSchema = (name: string): string => `tf_${name}_${process.pid}_${++schemas}`;

const DAY = 86_400_000;
const ALL = { from: 0, to: 4_102_444_800_000 };

type WindowRow = { symbol: string; timeframe: string; start: number; rev: number };

/** What a store must hold after the operators' output: one row per window, its highest rev (the later one on a tie). */
function finalRows<T extends WindowRow>(rows: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const r of rows) {
    const key = `${r.symbol}|${r.timeframe}|${r.start}`;
    const prev = latest.get(key);
    if (prev === undefined || r.rev >= prev.rev) latest.set(key, r);
  }
  return [...latest.values()].sort(byWindow);
}

function byWindow(a: WindowRow, b: WindowRow): number {
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.timeframe < b.timeframe ? -1 : a.timeframe > b.timeframe ? 1 : a.start - b.start;
}

function byTrade(a: Trade, b: Trade): number {
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.ts !== b.ts ? a.ts - b.ts : (a.id ?? '') < (b.id ?? '') ? -1 : (a.id ?? '') > (b.id ?? '') ? 1 : 0;
}

function trade(symbol: string, ts: number, price: number, size: number, more: Partial<Trade> = {}): Trade {
  return { symbol, ts, price, size, ...more };
}

const servers = [
  { server: 'PostgreSQL 15', url: () => pg.url, external: () => pg.external, mode: 'postgres' as const },
  { server: 'TimescaleDB (PGlite)', url: () => ts.url, external: () => ts.external, mode: 'timescale' as const },
];

describe.each(servers)('TimescaleStore on $server', ({ url, external, mode }) => {
  const connect = (schema: string, logs: string[] = [], more: Partial<TimescaleStoreOptions> = {}) =>
    TimescaleStore.connect({ url: url(), schema, aggregateRefresh: false, log: (m) => logs.push(m), ...more });

  it('detects the server, logs the layout it chose, and connects again to the schema it created', async () => {
    const schema = freshSchema('connect');
    const logs: string[] = [];
    const first = await connect(schema, logs);
    const chosen = first.mode;
    await first.close();
    if (!external()) expect(chosen).toBe(mode);
    expect(logs.join('\n')).toMatch(chosen === 'timescale' ? /TimescaleDB 2\.\d+.*trades is a hypertable \(1h chunks, compressed after 2d, dropped after 730d\)/ : /plain PostgreSQL 15.*materialized views/);
    // The DDL runs again on an existing schema without error and keeps the layout.
    const again = await connect(schema);
    expect(again.mode).toBe(chosen);
    await again.close();
  });

  it('stores what the operators emitted: trades, 1m/5m candles, volume profiles and tick counts, final revision per window', async () => {
    const store = await connect(freshSchema('roundtrip'));
    try {
      const feed: SyntheticFeedOptions = { seed: 11, symbols: 4, rate: 20, count: 12_000, outOfOrder: { probability: 0.05, maxDelay: 4_000 } };
      const windows = { size: ['1m', '5m'], grace: '5s' } as const;
      const trades: Trade[] = [];
      const candles: Candle[] = [];
      const profiles: VolumeProfile[] = [];
      const ticks: TickCount[] = [];
      await Promise.all([
        pipeline(syntheticTrades(feed)).pipe(tap((t: Trade) => trades.push(t))).to(store.sink('trades', { maxBatchSize: 1_000 })).run(),
        pipeline(syntheticTrades(feed), { outOfOrderness: '1s' })
          .pipe(keyBy('symbol'), tumbling(windows, ohlcv()), tap((c: Candle) => candles.push(c)))
          .to(store.sink('candles', { maxBatchSize: 7 }))
          .run(),
        pipeline(syntheticTrades(feed), { outOfOrderness: '1s' })
          .pipe(keyBy('symbol'), tumbling(windows, volumeProfile({ step: 0.5 })), tap((p: VolumeProfile) => profiles.push(p)))
          .to(store.sink('volumeProfiles', { maxBatchSize: 5 }))
          .run(),
        pipeline(syntheticTrades(feed), { outOfOrderness: '1s' })
          .pipe(keyBy('symbol'), tumbling(windows, tickCount()), tap((t: TickCount) => ticks.push(t)))
          .to(store.sink('tickCounts', { maxBatchSize: 5 }))
          .run(),
      ]);
      // The feed's disorder makes corrections (rev > 1) that must replace their first emission.
      expect(candles.some((c) => c.rev > 1)).toBe(true);
      const symbols = [...new Set(trades.map((t) => t.symbol))].sort();
      expect(symbols).toHaveLength(4);

      const storedTrades = (await Promise.all(symbols.map((symbol) => store.readTrades({ symbol, ...ALL })))).flat();
      expect(storedTrades.sort(byTrade)).toEqual([...trades].sort(byTrade));

      const read = async <T extends WindowRow>(fn: (r: { symbol: string; timeframe: string; from: number; to: number }) => Promise<T[]>): Promise<T[]> => {
        const out: T[] = [];
        for (const symbol of symbols) for (const timeframe of ['1m', '5m']) out.push(...(await fn({ symbol, timeframe, ...ALL })));
        return out.sort(byWindow);
      };
      const storedCandles = await read((r) => store.readCandles(r));
      expect(storedCandles).toEqual(finalRows(candles));
      expect(storedCandles.filter((c) => c.timeframe === '5m').length).toBeGreaterThan(4);
      expect(await read((r) => store.readVolumeProfiles(r))).toEqual(finalRows(profiles));
      expect(await read((r) => store.readTickCounts(r))).toEqual(finalRows(ticks));
      // Reads come back ordered by time.
      const one = await store.readCandles({ symbol: symbols[0]!, timeframe: '1m', ...ALL });
      expect(one.map((c) => c.start)).toEqual([...one.map((c) => c.start)].sort((a, b) => a - b));
      expect(await store.readTrades({ symbol: symbols[0]!, ...ALL, limit: 3 })).toHaveLength(3);
      // A limit on windows keeps the newest (a chart of the range's end), still in time order.
      expect(one.length).toBeGreaterThan(3);
      expect(await store.readCandles({ symbol: symbols[0]!, timeframe: '1m', ...ALL, limit: 3 })).toEqual(one.slice(-3));
      const ticks1m = await store.readTickCounts({ symbol: symbols[0]!, timeframe: '1m', ...ALL });
      expect(await store.readTickCounts({ symbol: symbols[0]!, timeframe: '1m', ...ALL, limit: 2 })).toEqual(ticks1m.slice(-2));
    } finally {
      await store.close();
    }
  });

  it('answers ohlc_daily and volume_by_symbol with the right first/last/high/low/volume after a refresh', async () => {
    const store = await connect(freshSchema('daily'));
    try {
      const day0 = Date.UTC(2024, 0, 19);
      await store.writeTrades([
        trade('AAA', day0 + 5_000, 12, 2, { side: 'sell', id: 'a2' }),
        trade('AAA', day0 + 1_000, 10, 1, { side: 'buy', id: 'a1' }),
        trade('AAA', day0 + 3_000, 9, 3, { id: 'a3' }),
        trade('AAA', day0 + DAY - 1, 11, 4, { side: 'buy', id: 'a4' }),
        trade('AAA', day0 + DAY, 20, 5, { side: 'sell', id: 'a5' }),
        trade('BBB', day0 + 3_600_007, 100, 10, { side: 'buy', id: 'b1' }),
      ]);
      await store.refreshAggregates();
      expect(await store.readDailyOhlc({ symbol: 'AAA', from: day0, to: day0 + 2 * DAY })).toEqual([
        { symbol: 'AAA', start: day0, end: day0 + DAY, open: 10, high: 12, low: 9, close: 11, volume: 10, notional: 105, buyVolume: 5, sellVolume: 2, trades: 4 },
        { symbol: 'AAA', start: day0 + DAY, end: day0 + 2 * DAY, open: 20, high: 20, low: 20, close: 20, volume: 5, notional: 100, buyVolume: 0, sellVolume: 5, trades: 1 },
      ]);
      expect(await store.readVolumeBySymbol({ from: day0, to: day0 + 2 * DAY })).toEqual([
        { symbol: 'AAA', volume: 15, notional: 205, buyVolume: 5, sellVolume: 7, trades: 5 },
        { symbol: 'BBB', volume: 10, notional: 1000, buyVolume: 10, sellVolume: 0, trades: 1 },
      ]);
      // A later trade shows after the next refresh (at once on TimescaleDB, whose aggregates are real-time).
      await store.writeTrades([trade('AAA', day0 + 7_000, 30, 1, { side: 'buy', id: 'a6' })]);
      await store.refreshAggregates();
      const [first] = await store.readDailyOhlc({ symbol: 'AAA', from: day0, to: day0 + DAY });
      expect(first).toMatchObject({ open: 10, high: 30, low: 9, close: 11, volume: 11, trades: 5 });
    } finally {
      await store.close();
    }
  });

  it('keeps one row per key when a batch is written twice, and the highest revision per window', async () => {
    const store = await connect(freshSchema('idempotent'));
    try {
      const t0 = Date.UTC(2024, 0, 19, 14, 30);
      const odd = 'A"B\\{,}\'x';
      const batch = [
        trade('AAA', t0, 10, 1, { side: 'buy', id: 'X1', bid: 9.99, ask: 10.01 }),
        trade('AAA', t0, 10, 1, { side: 'buy' }),
        trade('AAA', t0, 10, 1, { side: 'buy' }), // an identical print without id: both are kept
        trade('AAA', t0 + 1, 10.5, 2),
        trade(odd, t0, 1, 1, { id: 'NULL' }),
      ];
      await store.writeTrades(batch);
      await store.writeTrades(batch);
      await store.writeTrades(batch.map((t) => ({ ...t }))); // a re-delivered copy
      expect(await store.readTrades({ symbol: 'AAA', ...ALL })).toHaveLength(4);
      expect(await store.readTrades({ symbol: odd, ...ALL })).toEqual([batch[4]]);
      expect((await store.readTrades({ symbol: 'AAA', ...ALL })).find((t) => t.id === 'X1')).toEqual(batch[0]);

      const candle = (rev: number, close: number): Candle => ({
        symbol: 'AAA', timeframe: '1m', start: t0, end: t0 + 60_000, final: true, rev,
        open: 10, high: Math.max(10, close), low: Math.min(10, close), close, volume: 5, trades: 3, vwap: 10.2, buyVolume: 2, sellVolume: 3,
      });
      const read = () => store.readCandles({ symbol: 'AAA', timeframe: '1m', ...ALL });
      await store.writeCandles([candle(2, 12)]);
      await store.writeCandles([candle(2, 12)]);
      expect(await read()).toEqual([candle(2, 12)]);
      await store.writeCandles([candle(1, 11)]); // an older revision arriving late
      expect(await read()).toEqual([candle(2, 12)]);
      await store.writeCandles([candle(4, 14), candle(3, 13)]); // both in one batch: the highest wins
      expect(await read()).toEqual([candle(4, 14)]);
      await store.writeCandles([candle(4, 15)]); // the same revision again: the latest write wins
      expect(await read()).toEqual([candle(4, 15)]);

      const ticks = (rev: number, trades: number): TickCount => ({ symbol: 'AAA', timeframe: '5m', start: t0, end: t0 + 300_000, final: true, rev, trades, buyTrades: trades, sellTrades: 0 });
      await store.writeTickCounts([ticks(2, 8), ticks(1, 5)]);
      await store.writeTickCounts([ticks(1, 5)]);
      expect(await store.readTickCounts({ symbol: 'AAA', timeframe: '5m', ...ALL })).toEqual([ticks(2, 8)]);

      const profile = (rev: number, volume: number): VolumeProfile => ({
        symbol: 'AAA', timeframe: '1m', start: t0, end: t0 + 60_000, final: rev > 1, rev, bucket: 0.1,
        levels: [{ price: 10, volume: volume - 1, buyVolume: 1, sellVolume: volume - 2 }, { price: 10.1, volume: 1, buyVolume: 1, sellVolume: 0 }],
        volume, poc: 10, valueAreaLow: 10, valueAreaHigh: 10, valueAreaVolume: volume - 1,
      });
      await store.writeVolumeProfiles([profile(3, 7.3)]);
      await store.writeVolumeProfiles([profile(2, 5)]);
      expect(await store.readVolumeProfiles({ symbol: 'AAA', timeframe: '1m', ...ALL })).toEqual([profile(3, 7.3)]);
    } finally {
      await store.close();
    }
  });

  it('sends NaN prices, negative sizes and over-long symbols to the dead-letter output and stores the good rows of the batch', async () => {
    const store = await connect(freshSchema('baddata'));
    try {
      const t0 = Date.UTC(2024, 0, 19, 14, 30);
      const good = [trade('GOOD', t0, 10, 1, { id: 'g1' }), trade('GOOD', t0 + 1, 11, 2, { id: 'g2' })];
      const bad = [trade('BADP', t0, Number.NaN, 1), trade('BADS', t0, 10, -5), trade('X'.repeat(40), t0, 10, 1)];
      const letters: DeadLetter[] = [];
      const sink = store.sink('trades', { maxBatchAge: 0, deadLetter: (l) => letters.push(l) });
      await sink.write([good[0]!, ...bad, good[1]!]);
      await sink.close();
      expect(letters.map((l) => l.reason)).toEqual([
        'timescale:trades: price must be a finite number, got NaN',
        'timescale:trades: size must be ≥ 0, got -5',
        expect.stringMatching(/^timescale:trades: symbol must be at most 32 characters, got 40/),
      ]);
      expect(letters.map((l) => l.input)).toEqual(bad);
      expect(sink.stats.rowsRejected).toBe(3);
      expect(await store.readTrades({ symbol: 'GOOD', ...ALL })).toEqual(good);
      expect(await store.readTrades({ symbol: 'BADP', ...ALL })).toEqual([]);
      expect(await store.readTrades({ symbol: 'BADS', ...ALL })).toEqual([]);
      // Written directly, a bad row fails the whole call with the reason, and nothing is written.
      await expect(store.writeTrades([trade('DIRECT', t0, 1, 1), bad[0]!])).rejects.toThrow(/trades\[1\] cannot be stored: price must be a finite number, got NaN/);
      expect(await store.readTrades({ symbol: 'DIRECT', ...ALL })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('gives a lazily connecting sink through timescale() that owns and closes its store', async () => {
    const schema = freshSchema('factory');
    const t0 = Date.UTC(2024, 0, 19, 14, 30);
    const trades = Array.from({ length: 500 }, (_, i) => trade(`S${i % 3}`, t0 + i * 10, 100 + i / 100, 1 + (i % 5), { side: i % 2 ? 'buy' : 'sell' }));
    const logs: string[] = [];
    await pipeline(fromArray(trades, { batchSize: 64 })).to(timescale({ url: url(), schema, kind: 'trades', maxBatchSize: 100, log: (m) => logs.push(m) })).run();
    expect(logs.at(-1)).toContain(`(schema ${schema}`);
    const store = await connect(schema);
    try {
      const stored = (await Promise.all(['S0', 'S1', 'S2'].map((symbol) => store.readTrades({ symbol, ...ALL })))).flat();
      expect(stored.sort(byTrade)).toEqual([...trades].sort(byTrade));
    } finally {
      await store.close();
    }
  });
});

describe('TimescaleStore layouts', () => {
  it('makes trades a hypertable with 1-hour chunks and compression, retention and refresh policies on TimescaleDB', async () => {
    const schema = freshSchema('layout');
    const store = await TimescaleStore.connect({ url: ts.url, schema, log: () => undefined });
    const h0 = Date.UTC(2024, 0, 19, 14);
    await store.writeTrades([trade('AAA', h0 + 1, 10, 1), trade('AAA', h0 + 3_600_000, 11, 1), trade('AAA', h0 + 7_300_000, 12, 1)]);
    await store.close();
    // PGlite serves one connection at a time: look at the catalog once the store is closed.
    const sql = postgres(ts.url, { max: 1, onnotice: () => undefined });
    try {
      const [dim] = await sql`SELECT time_interval::text AS interval FROM timescaledb_information.dimensions WHERE hypertable_schema = ${schema} AND hypertable_name = 'trades'`;
      expect(dim?.interval).toBe('01:00:00');
      const chunks = await sql`SELECT (range_end - range_start)::text AS width FROM timescaledb_information.chunks WHERE hypertable_schema = ${schema} AND hypertable_name = 'trades'`;
      expect(chunks.map((c) => c.width)).toEqual(['01:00:00', '01:00:00', '01:00:00']);
      const jobs = await sql`
        SELECT j.proc_name, coalesce(a.view_name, j.hypertable_name) AS target, j.schedule_interval::text AS every, j.config
        FROM timescaledb_information.jobs j
        LEFT JOIN timescaledb_information.continuous_aggregates a ON a.materialization_hypertable_schema = j.hypertable_schema AND a.materialization_hypertable_name = j.hypertable_name
        WHERE j.hypertable_schema = ${schema} OR a.view_schema = ${schema}
        ORDER BY 1, 2`;
      const config = (target: string, proc: string) => jobs.find((j) => j.target === target && j.proc_name === proc)?.config as Record<string, string> | undefined;
      expect(jobs.map((j) => `${j.proc_name} ${j.target}`)).toEqual([
        'policy_compression trades',
        'policy_refresh_continuous_aggregate ohlc_daily',
        'policy_refresh_continuous_aggregate volume_by_symbol',
        'policy_retention trades',
      ]);
      expect(config('trades', 'policy_compression')?.compress_after).toBe('2 days');
      expect(config('trades', 'policy_retention')?.drop_after).toBe('730 days');
      expect(jobs.filter((j) => j.proc_name === 'policy_refresh_continuous_aggregate').map((j) => j.every)).toEqual(['00:01:00', '00:01:00']);
      const aggregates = await sql`SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates WHERE view_schema = ${schema} ORDER BY 1`;
      expect(aggregates.map((a) => [a.view_name, a.materialized_only])).toEqual([['ohlc_daily', false], ['volume_by_symbol', false]]);
      const [compression] = await sql`SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_schema = ${schema} AND hypertable_name = 'trades'`;
      expect(compression?.compression_enabled).toBe(true);
    } finally {
      await sql.end();
    }
  });

  it('uses ordinary tables and materialized views on PostgreSQL without the extension', async () => {
    const schema = freshSchema('plain');
    const store = await TimescaleStore.connect({ url: pg.url, schema, log: () => undefined });
    expect(store.mode).toBe(pg.external ? store.mode : 'postgres');
    await store.close();
    if (store.mode !== 'postgres') return;
    const sql = postgres(pg.url, { max: 1, onnotice: () => undefined });
    try {
      const kinds = await sql`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'm') ORDER BY 1`;
      expect(kinds.map((k) => `${k.relname}:${k.relkind}`)).toEqual(['ohlc:r', 'ohlc_daily:m', 'tick_counts:r', 'trades:r', 'volume_by_symbol:m', 'volume_profiles:r']);
      const indexes = await sql`SELECT indexname FROM pg_indexes WHERE schemaname = ${schema} AND tablename = 'trades' ORDER BY 1`;
      expect(indexes.map((i) => i.indexname)).toEqual(['trades_price_idx', 'trades_symbol_time_key', 'trades_time_idx']);
    } finally {
      await sql.end();
    }
  });

  it('lets several processes create the same schema at once, and refreshes the materialized views on its own on plain PostgreSQL', async () => {
    const schema = freshSchema('concurrent');
    const stores = await Promise.all([1, 2, 3].map(() => TimescaleStore.connect({ url: pg.url, schema, aggregateRefresh: 100, log: () => undefined })));
    const [store] = stores;
    try {
      const day0 = Date.UTC(2024, 0, 19);
      await store!.writeTrades([trade('AAA', day0 + 1, 10, 1, { id: 'a' }), trade('AAA', day0 + 2, 12, 1, { id: 'b' })]);
      if (store!.mode === 'timescale') return; // real-time aggregates: nothing to wait for
      const daily = await eventually('the daily bar is refreshed', async () => {
        const rows = await store!.readDailyOhlc({ symbol: 'AAA', from: day0, to: day0 + DAY });
        return rows.length > 0 && rows;
      }, { intervalMs: 50 });
      expect(daily).toMatchObject([{ open: 10, close: 12, high: 12, low: 10, volume: 2, trades: 2 }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps a schema created without TimescaleDB plain when the extension is there', async () => {
    const schema = freshSchema('kept');
    const plain = await TimescaleStore.connect({ url: ts.url, schema, mode: 'postgres', log: () => undefined });
    expect(plain.mode).toBe('postgres');
    await plain.close();
    const logs: string[] = [];
    const auto = await TimescaleStore.connect({ url: ts.url, schema, log: (m) => logs.push(m) });
    expect(auto.mode).toBe('postgres');
    await auto.close();
    expect(logs.join('\n')).toMatch(/trades was created without TimescaleDB, kept as it is/);
    await expect(TimescaleStore.connect({ url: ts.url, schema, mode: 'timescale', log: () => undefined })).rejects.toThrow(/exists as a plain table: migrate it/);
  });

  it('fails with a clear TickflowError when nothing listens, and on bad options', async () => {
    const port = await freePort();
    const error = await TimescaleStore.connect({ url: `postgres://postgres:secret@127.0.0.1:${port}/postgres`, connectTimeout: '2s', log: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).code).toBe('SINK_FAILED');
    expect((error as TickflowError).message).toMatch(/nothing accepts connections at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    expect((error as TickflowError).message).not.toContain('secret');
    expect(() => timescale({ url: 'http://x', kind: 'trades' })).toThrow(/url must start with postgres:\/\//);
    expect(() => timescale({ url: pg.url, kind: 'candles', schema: 'Bad-Name' })).toThrow(/schema must be a lower-case PostgreSQL identifier/);
    expect(() => timescale({ url: pg.url, kind: 'candles', chunkInterval: '1 hour' })).toThrow(TickflowError);
  });
});
