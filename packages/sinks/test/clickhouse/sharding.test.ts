import { startClickHouseShards } from '@tickflow/test-services';
import type { ClickHouseShards } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStore } from '../../src/clickhouse/index.js';
import { fnv1a32 } from '../../src/clickhouse/shardOf.js';
import { canonical, latest, marketTrades, runPipelines, testDatabase } from './marketData.js';

let shards: ClickHouseShards;
let store: ClickHouseStore;
const database = testDatabase('shards');

beforeAll(async () => {
  shards = await startClickHouseShards(2);
  store = await ClickHouseStore.connect({ url: [...shards.urls], database, log: () => {} });
}, 300_000); // the first run on a machine installs clickhouse-server

afterAll(async () => {
  await store?.close();
  if (shards !== undefined) {
    for (const url of shards.urls) await fetch(`${url}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await shards.stop();
  }
});

async function onShard<T>(i: number, read: (s: ClickHouseStore) => Promise<T>): Promise<T> {
  const single = await ClickHouseStore.connect({ url: shards.urls[i]!, database, log: () => {} });
  try {
    return await read(single);
  } finally {
    await single.close();
  }
}

describe('ClickHouseStore over two shards', () => {
  it('puts every symbol on shard fnv1a32(symbol) % 2 and merges reads from both by time', async () => {
    const trades = marketTrades({ count: 4_000, symbols: 16, seed: 11 });
    const emitted = await runPipelines(trades, { trades: store.sink('trades'), candles: store.sink('candles'), volumeProfiles: store.sink('volumeProfiles'), tickCounts: store.sink('tickCounts') });

    const perShard = await Promise.all([0, 1].map((i) => onShard(i, (s) => Promise.all([s.readTrades(), s.readCandles({ timeframe: '1m' })]))));
    for (const [i, [shardTrades, shardCandles]] of perShard.entries()) {
      expect(shardTrades.length).toBeGreaterThan(0);
      for (const t of shardTrades) expect(fnv1a32(t.symbol) % 2).toBe(i);
      for (const c of shardCandles) expect(fnv1a32(c.symbol) % 2).toBe(i);
      for (const t of shardTrades) expect(store.shardOf(t.symbol)).toBe(i);
    }
    expect(perShard[0]![0].length + perShard[1]![0].length).toBe(trades.length);

    const merged = await store.readTrades();
    expect(canonical(merged)).toStrictEqual(canonical(trades));
    for (let i = 1; i < merged.length; i++) expect(merged[i]!.ts).toBeGreaterThanOrEqual(merged[i - 1]!.ts);
    expect(await store.readCandles({ timeframe: '1m' })).toStrictEqual(latest(emitted.candles.filter((c) => c.timeframe === '1m')));
    expect(await store.readCandles({ timeframe: '5m' })).toStrictEqual(latest(emitted.candles.filter((c) => c.timeframe === '5m')));
    expect(await store.readVolumeProfiles()).toStrictEqual(latest(emitted.volumeProfiles));
    expect(await store.readTickCounts()).toStrictEqual(latest(emitted.tickCounts));

    // A read for one symbol asks only its shard and returns the same rows.
    const sym = trades[0]!.symbol;
    expect(canonical(await store.readTrades({ symbol: sym }))).toStrictEqual(canonical(trades.filter((t) => t.symbol === sym)));
    const limited = await store.readTrades({ limit: 10 });
    expect(limited).toStrictEqual(merged.slice(0, 10));
  });
});
