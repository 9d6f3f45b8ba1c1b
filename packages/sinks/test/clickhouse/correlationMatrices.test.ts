// The correlation_matrix table of the ClickHouse store, on a modern ClickHouse
// (chDB, in process) and on Debian's 18.16 server: the matrices correlation() emits go in through the sink
// and come back equal, a rewrite leaves one row per key, and reads pick a time
// and a subset of symbols.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { Trade } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import { loadChdbConnection, startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import type { CorrelationMatrix } from '@tickflow/windowing';
import { correlation } from '@tickflow/windowing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickHouseCorrelationDdl } from '../../src/clickhouse/correlationMatrices.js';
import { ClickHouseStore, clickHouseCapabilities } from '../../src/clickhouse/index.js';
import { testDatabase } from './marketData.js';

type ChdbConnection = NonNullable<ClickHouseClientConfigOptions['connection']> & { close(): Promise<void> };

const dir = mkdtempSync(join(tmpdir(), 'tickflow-chdb-corr-'));
let client: ClickHouseClient;
let store: ClickHouseStore;
const database = 'tickflow_corr';
const MIN = 60_000;
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

beforeAll(async () => {
  const { createChdbConnection } = await loadChdbConnection();
  client = createClient({ connection: createChdbConnection({ path: join(dir, 'db') }) as ChdbConnection });
  store = await ClickHouseStore.connect({ clients: [client], database, insertFormat: 'JSONEachRow', log: () => {} });
}, 600_000);

afterAll(async () => {
  await store?.close();
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function matrices(): Promise<CorrelationMatrix[]> {
  let seed = 5;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const trades: Trade[] = [];
  const price = new Map<string, number>();
  for (let k = 0; k < 10; k++) {
    for (let s = 0; s < 8; s++) {
      const sym = `C${s}`;
      // C7 never moves (NaN correlations); C6 starts in minute 5.
      if (s === 6 && k < 5) continue;
      const p = s === 7 ? 10 : (price.get(sym) ?? 100) * Math.exp((rnd() - 0.5) * 0.02);
      price.set(sym, p);
      trades.push({ symbol: sym, ts: T0 + k * MIN + 500 * s, price: p, size: 1 });
    }
  }
  const out = collect<CorrelationMatrix>();
  await pipeline(fromArray(trades)).pipe(keyBy('symbol'), correlation({ interval: '1m', lookback: 4 })).to(out).run();
  return out.values;
}

const plain = (m: { start: number; end: number; symbols: readonly string[]; counts: readonly number[]; values: Float64Array | readonly number[] }) => ({ ...m, values: Array.from(m.values) });

describe('ClickHouse correlation_matrix (chDB)', () => {
  it('stores what correlation() emits and reads matrices back equal, latest or at a time, all symbols or some', async () => {
    const emitted = await matrices();
    expect(emitted).toHaveLength(9);
    const table = store.correlationMatrices();
    expect(await table.read({ interval: '1m', lookback: 4 })).toBeUndefined();
    await pipeline(fromArray(emitted)).to(table.sink()).run();
    // A replay writes the same rows again: FINAL reads one per key.
    await table.write(emitted);
    expect(plain((await table.read({ interval: '1m', lookback: 4 }))!)).toStrictEqual(plain(emitted.at(-1)!));
    const m = emitted[3]!;
    expect(plain((await table.read({ interval: '1m', lookback: 4, at: m.end }))!)).toStrictEqual(plain(m));
    const some = await table.read({ interval: '1m', lookback: 4, symbols: ['C7', 'C2'] });
    expect(some!.symbols).toEqual(['C7', 'C2']);
    expect(Number.isNaN(some!.values[1]!)).toBe(true);
    expect(await table.read({ interval: '1m', lookback: 4, at: T0 })).toBeUndefined();
    const rs = await client.query({ query: `SELECT count() AS n FROM ${database}.correlation_matrix FINAL`, format: 'JSONEachRow' });
    const [count] = await rs.json<{ n: string }>();
    expect(Number(count!.n)).toBe(emitted.reduce((s, x) => s + (x.symbols.length * (x.symbols.length + 1)) / 2, 0));
  });

  it('has DDL for servers without DateTime64 too (times as UInt64 ms)', () => {
    const ddl = clickHouseCorrelationDdl(clickHouseCapabilities('18.16.1'), 'd');
    expect(ddl).toContain('`time` UInt64');
    expect(ddl).toContain('toYYYYMM(toDateTime(intDiv(time, 1000)))');
    expect(ddl).toContain('ENGINE = ReplacingMergeTree');
  });
});

describe("ClickHouse correlation_matrix on Debian's ClickHouse 18.16 (times as UInt64)", () => {
  let server: ClickHouseService;
  let old: ClickHouseStore;
  const oldDb = testDatabase('corr');

  beforeAll(async () => {
    server = await startClickHouse({ ownServer: true });
    old = await ClickHouseStore.connect({ url: server.url, database: oldDb, log: () => {} });
  }, 300_000);

  afterAll(async () => {
    await old?.close();
    if (server !== undefined) {
      await fetch(`${server.url}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${oldDb}` }).catch(() => undefined);
      await server.stop();
    }
  });

  it('stores and reads the same matrices', async () => {
    const emitted = await matrices();
    const table = old.correlationMatrices();
    await table.write(emitted);
    await table.write(emitted.slice(-2));
    expect(plain((await table.read({ interval: '1m', lookback: 4 }))!)).toStrictEqual(plain(emitted.at(-1)!));
    expect(plain((await table.read({ interval: '1m', lookback: 4, at: emitted[2]!.end + 1 }))!)).toStrictEqual(plain(emitted[2]!));
    // The server loads the table's stored metadata again after a crash (with a column named `interval`, 18.16 could not).
    await server.kill();
    await server.restart();
    expect(plain((await table.read({ interval: '1m', lookback: 4 }))!)).toStrictEqual(plain(emitted.at(-1)!));
  }, 120_000);
});
