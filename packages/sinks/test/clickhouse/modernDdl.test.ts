// Modern ClickHouse DDL (TTL, DateTime64, LowCardinality) cannot run on
// Debian's 18.16, so these tests run the store in chDB, an in-process
// ClickHouse 26.x, through @clickhouse/client with chDB's connection. chDB
// converts insert bodies to text, so the store inserts JSONEachRow here; the
// RowBinary encoder is checked separately by loading its bytes with file().
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { Candle, Trade } from '@tickflow/core';
import { loadChdbConnection } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTrade } from '../../src/clickhouse/clickHouseRows.js';
import { columnType } from '../../src/clickhouse/clickHouseSchema.js';
import { ClickHouseStore } from '../../src/clickhouse/index.js';
import { RowBinaryWriter } from '../../src/clickhouse/rowBinary.js';
import { canonical, latest, marketTrades, runPipelines } from './marketData.js';

type ChdbConnection = NonNullable<ClickHouseClientConfigOptions['connection']> & { close(): Promise<void> };

const dir = mkdtempSync(join(tmpdir(), 'tickflow-chdb-test-'));
let client: ClickHouseClient;
let store: ClickHouseStore;
const logs: string[] = [];
const database = 'tickflow_modern';
// Recent times, so the 7 day TTL keeps them.
const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

async function text(query: string): Promise<string> {
  const rs = await client.query({ query, format: 'TabSeparated' });
  return (await rs.text()).trim();
}

beforeAll(async () => {
  const { createChdbConnection } = await loadChdbConnection();
  client = createClient({ connection: createChdbConnection({ path: join(dir, 'db') }) as ChdbConnection });
  store = await ClickHouseStore.connect({ clients: [client], database, insertFormat: 'JSONEachRow', log: (m) => logs.push(m) });
}, 600_000);

afterAll(async () => {
  await store?.close();
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ClickHouseStore on a modern ClickHouse (chDB)', () => {
  it('detects TTL, DateTime64 and LowCardinality and creates tables with them', async () => {
    expect(store.shards[0]!.capabilities).toMatchObject({ ttl: true, dateTime64: true, lowCardinality: true });
    expect(logs[0]).toMatch(/trades_raw TTL interval 7 day; times as DateTime64\(3, 'UTC'\); symbols as LowCardinality\(String\)/);
    const ddl = await text(`SHOW CREATE TABLE ${database}.trades_raw`);
    expect(ddl).toContain("DateTime64(3, \\'UTC\\')");
    expect(ddl).toContain('LowCardinality(String)');
    expect(ddl).toMatch(/TTL toDateTime\(ts\) \+ toIntervalDay\(7\)/);
    expect(ddl).toContain('ReplacingMergeTree');
    expect(await text(`SHOW CREATE TABLE ${database}.ohlc_5m`)).toMatch(/ReplacingMergeTree\(rev\)/);
  });

  it('runs the same writes and reads there: what the operators emitted comes back, highest rev per window', async () => {
    const trades = marketTrades({ count: 3_000, seed: 3, start });
    const emitted = await runPipelines(trades, { trades: store.sink('trades'), candles: store.sink('candles'), volumeProfiles: store.sink('volumeProfiles'), tickCounts: store.sink('tickCounts') });
    expect(canonical(await store.readTrades())).toStrictEqual(canonical(trades));
    expect(await store.readCandles({ timeframe: '1m' })).toStrictEqual(latest(emitted.candles.filter((c) => c.timeframe === '1m')));
    expect(await store.readCandles({ timeframe: '5m' })).toStrictEqual(latest(emitted.candles.filter((c) => c.timeframe === '5m')));
    expect(await store.readVolumeProfiles()).toStrictEqual(latest(emitted.volumeProfiles));
    expect(await store.readTickCounts()).toStrictEqual(latest(emitted.tickCounts));
    const sym = trades[0]!.symbol;
    const from = start + 60_000;
    const to = from + 60_000;
    expect(canonical(await store.readTrades({ symbol: sym, from, to }))).toStrictEqual(canonical(trades.filter((t) => t.symbol === sym && t.ts >= from && t.ts < to)));
  });

  it('keeps one row per key for repeated writes and the highest rev of a candle', async () => {
    const trades: Trade[] = [{ symbol: 'IDEM', ts: start + 5, price: 1, size: 1 }, { symbol: 'IDEM', ts: start + 6, price: 2, size: 1, id: 'x' }];
    await store.writeTrades(trades);
    await store.writeTrades(trades);
    expect(await store.readTrades({ symbol: 'IDEM' })).toStrictEqual(trades);
    const c: Candle = { symbol: 'IDEM', timeframe: '1m', start, end: start + 60_000, open: 1, high: 2, low: 1, close: 2, volume: 2, trades: 2, vwap: 1.5, buyVolume: 0, sellVolume: 0, final: true, rev: 2 };
    await store.writeCandles([c, c, { ...c, rev: 1, close: 1 }]);
    expect(await store.readCandles({ symbol: 'IDEM', timeframe: '1m' })).toStrictEqual([c]);
  });

  it('drops trades older than the TTL when the table is merged', async () => {
    const old = Date.now() - 8 * 86_400_000;
    await store.writeTrades([
      { symbol: 'TTL', ts: old, price: 1, size: 1, id: 'old' },
      { symbol: 'TTL', ts: start, price: 1, size: 1, id: 'new' },
    ]);
    await client.command({ query: `OPTIMIZE TABLE ${database}.trades_raw FINAL` });
    expect((await store.readTrades({ symbol: 'TTL' })).map((t) => t.id)).toStrictEqual(['new']);
  });

  it('accepts the RowBinary bytes of the encoder for the modern column types', async () => {
    const trades: Trade[] = [
      { symbol: 'RB', ts: start + 1, price: 101.5, size: 3, side: 'sell', id: 'r1', bid: 101.4, ask: 101.5 },
      { symbol: 'RB', ts: start + 2, price: 0.1 + 0.2, size: 0 },
    ];
    const w = new RowBinaryWriter();
    for (const t of trades) encodeTrade(w, t, t.id ?? 'k');
    const file = join(dir, 'trades.bin');
    writeFileSync(file, w.finish());
    const caps = store.shards[0]!.capabilities;
    const structure = ['symbol symbol', 'ts time', 'key string', 'id string', 'price f64', 'size f64', 'side side', 'bid nullableF64', 'ask nullableF64']
      .map((c) => {
        const [name, kind] = c.split(' ') as [string, Parameters<typeof columnType>[0]];
        return `${name} ${columnType(kind, caps)}`;
      })
      .join(', ');
    await client.command({ query: `INSERT INTO ${database}.trades_raw SELECT * FROM file('${file}', 'RowBinary', '${structure.replace(/'/g, "\\'")}')` });
    expect(await store.readTrades({ symbol: 'RB' })).toStrictEqual(trades);
  });
});
