// ClickHouse-side candles (the store's `candleView` option) on a modern
// ClickHouse (chDB, in-process ClickHouse 26.x) and on Debian's 18.16 server: trades written to
// trades_raw become ohlc_1m through a materialized view, and the merged
// candles equal the ones tickflow's windowing emits for the same trades,
// out-of-order arrivals and equal timestamps included.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { Candle, LateEvent, Trade } from '@tickflow/core';
import { TickflowError, collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import { SeededRandom } from '@tickflow/core/synthetic';
import { loadChdbConnection, startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import { ohlcv, tumbling } from '@tickflow/windowing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candleViewStatements } from '../../src/clickhouse/candleView.js';
import { ClickHouseStore, clickHouseCapabilities } from '../../src/clickhouse/index.js';
import { testDatabase } from './marketData.js';

type ChdbConnection = NonNullable<ClickHouseClientConfigOptions['connection']> & { close(): Promise<void> };

const dir = mkdtempSync(join(tmpdir(), 'tickflow-chdb-view-'));
let client: ClickHouseClient;
let store: ClickHouseStore;
const database = 'tickflow_view';
const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

beforeAll(async () => {
  const { createChdbConnection } = await loadChdbConnection();
  client = createClient({ connection: createChdbConnection({ path: join(dir, 'db') }) as ChdbConnection });
  store = await ClickHouseStore.connect({ clients: [client], database, insertFormat: 'JSONEachRow', candleView: true, timeframes: ['1m', '5m'], log: () => {} });
}, 600_000);

afterAll(async () => {
  await store?.close();
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Trades in exchange order: numeric sequence ids from 95 (so ids of 2 to 5
 * digits, where text order is not number order), event times that often
 * repeat (several prints in one ms), integer sizes, sides; then arrival order
 * shuffled by delaying a tenth of the timestamps by up to 4 s (all prints of
 * one timestamp keep their id order, as an exchange feed delivers them).
 */
function exchangeTrades(count: number, seed: number): Trade[] {
  const rnd = new SeededRandom(seed);
  const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];
  const price = new Map(symbols.map((s) => [s, 100]));
  const trades: { t: Trade; arrival: number; seq: number }[] = [];
  let ts = start;
  const delayOf = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    if (rnd.next() < 0.6) ts += rnd.int(1, 400);
    const symbol = symbols[rnd.int(0, symbols.length - 1)]!;
    const p = Math.max(1, price.get(symbol)! + rnd.int(-3, 3) / 100);
    price.set(symbol, p);
    const side = rnd.next() < 0.4 ? 'buy' : rnd.next() < 0.6 ? 'sell' : undefined;
    const t: Trade = { symbol, ts, price: Math.round(p * 100) / 100, size: rnd.int(1, 500), id: String(95 + i) };
    if (side !== undefined) t.side = side;
    if (!delayOf.has(ts)) delayOf.set(ts, rnd.next() < 0.1 ? rnd.int(1, 4_000) : 0);
    trades.push({ t, arrival: ts + delayOf.get(ts)!, seq: i });
  }
  trades.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
  return trades.map((x) => x.t);
}

async function tickflowCandles(trades: readonly Trade[]): Promise<{ candles: Candle[]; late: LateEvent[] }> {
  const out = collect<Candle>();
  const late = collect<LateEvent>();
  await pipeline(fromArray(trades), { outOfOrderness: '5s' }).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).late(late).to(out).run();
  const candles = [...out.values].sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  return { candles, late: late.values };
}

describe('ClickHouse candle view (candleView option, chDB)', () => {
  it('creates ohlc_1m as an AggregatingMergeTree fed by a materialized view over trades_raw', async () => {
    const rs = await client.query({ query: `SELECT name, engine FROM system.tables WHERE database = '${database}' ORDER BY name`, format: 'JSONEachRow' });
    const tables = await rs.json<{ name: string; engine: string }>();
    expect(tables).toEqual(expect.arrayContaining([
      { name: 'ohlc_1m', engine: 'AggregatingMergeTree' },
      { name: 'ohlc_1m_mv', engine: 'MaterializedView' },
      { name: 'ohlc_5m', engine: 'ReplacingMergeTree' },
      { name: 'trades_raw', engine: 'ReplacingMergeTree' },
    ]));
  });

  it('gives the candles tickflow computes for the same trades (out of order, equal timestamps, ids of several lengths)', async () => {
    const trades = exchangeTrades(6_000, 11);
    const ties = trades.filter((t, i) => trades.findIndex((u) => u.symbol === t.symbol && u.ts === t.ts) !== i).length;
    expect(ties).toBeGreaterThan(100);
    const { candles, late } = await tickflowCandles(trades);
    expect(late).toEqual([]);
    // Several inserts: the view aggregates each block, the read merges states across parts.
    for (let i = 0; i < trades.length; i += 1_500) await store.writeTrades(trades.slice(i, i + 1_500));
    const fromView = await store.readCandles({ timeframe: '1m' });
    expect(fromView.length).toBe(candles.length);
    const exact = (c: Candle) => ({ ...c, vwap: 0 });
    expect(fromView.map(exact)).toStrictEqual(candles.map(exact));
    // VWAP: ClickHouse sums price × size in its own order, tickflow with a compensated sum.
    for (let i = 0; i < candles.length; i++) expect(Math.abs(fromView[i]!.vwap - candles[i]!.vwap)).toBeLessThanOrEqual(1e-12 * candles[i]!.vwap);
    // The same after ClickHouse merges the parts, and for one symbol and range.
    await client.command({ query: `OPTIMIZE TABLE ${database}.ohlc_1m FINAL` });
    expect((await store.readCandles({ timeframe: '1m' })).map(exact)).toStrictEqual(candles.map(exact));
    const sym = 'BBB';
    const from = start + 5 * 60_000;
    const to = from + 3 * 60_000;
    expect((await store.readCandles({ timeframe: '1m', symbol: sym, from, to })).map(exact)).toStrictEqual(candles.filter((c) => c.symbol === sym && c.start >= from && c.start < to).map(exact));
  });

  it('breaks equal timestamps by id as numbers (9 before 10, 99 before 100), as tickflow does by arrival for prints delivered in id order', async () => {
    const t0 = start + 30 * 60_000;
    const trades: Trade[] = [
      { symbol: 'TIE', ts: t0 + 5, price: 1, size: 1, id: '9' },
      { symbol: 'TIE', ts: t0 + 5, price: 2, size: 1, id: '10' },
      { symbol: 'TIE', ts: t0 + 40_000, price: 3, size: 1, id: '99' },
      { symbol: 'TIE', ts: t0 + 40_000, price: 4, size: 1, id: '100' },
    ];
    const { candles } = await tickflowCandles(trades);
    // Inserted in reverse: the view does not depend on the order rows reach ClickHouse.
    await store.writeTrades([...trades].reverse());
    const [c] = await store.readCandles({ timeframe: '1m', symbol: 'TIE' });
    expect([c!.open, c!.close]).toEqual([1, 4]);
    expect({ ...c!, vwap: 0 }).toStrictEqual({ ...candles[0]!, vwap: 0 });
  });

  it('refuses tickflow candles of the view timeframe and keeps writing the others', async () => {
    const c: Candle = { symbol: 'ZZZ', timeframe: '1m', start, end: start + 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1, trades: 1, vwap: 1, buyVolume: 0, sellVolume: 0, final: true, rev: 3 };
    await expect(store.writeCandles([c])).rejects.toThrow(TickflowError);
    const c5 = { ...c, timeframe: '5m', end: start + 300_000 };
    await store.writeCandles([c5]);
    expect(await store.readCandles({ timeframe: '5m', symbol: 'ZZZ' })).toStrictEqual([c5]);
  });

  it('builds the same view for servers without DateTime64 (times as UInt64 ms)', () => {
    const [table, view] = candleViewStatements(clickHouseCapabilities('18.16.1'), { database: 'd', timeframe: '1m' });
    expect(table).toContain('AggregateFunction(argMin, Float64, Tuple(UInt64, UInt64, String, String))');
    expect(view).toContain('intDiv(ts, 60000) * 60000 AS start');
    expect(() => candleViewStatements(clickHouseCapabilities('24.8'), { database: 'd', timeframe: '250ms' })).toThrow(/whole number/);
  });
});

describe("ClickHouse candle view on Debian's ClickHouse 18.16 (times as UInt64)", () => {
  let server: ClickHouseService;
  let old: ClickHouseStore;
  const oldDb = testDatabase('view');

  beforeAll(async () => {
    server = await startClickHouse();
    old = await ClickHouseStore.connect({ url: server.url, database: oldDb, candleView: '1m', log: () => {} });
  }, 300_000);

  afterAll(async () => {
    await old?.close();
    if (server !== undefined) {
      await fetch(`${server.url}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${oldDb}` }).catch(() => undefined);
      await server.stop();
    }
  });

  it('gives the candles tickflow computes there too', async () => {
    const trades = exchangeTrades(2_000, 12);
    const { candles, late } = await tickflowCandles(trades);
    expect(late).toEqual([]);
    for (let i = 0; i < trades.length; i += 700) await old.writeTrades(trades.slice(i, i + 700));
    const exact = (c: Candle) => ({ ...c, vwap: 0 });
    const fromView = await old.readCandles({ timeframe: '1m' });
    expect(fromView.map(exact)).toStrictEqual(candles.map(exact));
    for (let i = 0; i < candles.length; i++) expect(Math.abs(fromView[i]!.vwap - candles[i]!.vwap)).toBeLessThanOrEqual(1e-12 * candles[i]!.vwap);
  });
});
