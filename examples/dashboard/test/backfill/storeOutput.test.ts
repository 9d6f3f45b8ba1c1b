import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candle, TickCount } from '@tickflow/core';
import { MarketSimulator } from '@tickflow/core/synthetic';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import type { RunningService } from '@tickflow/test-services';
import { startClickHouse, startPostgres } from '@tickflow/test-services';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../runCli.js';
import { parseStoreUrl } from '../../src/backfill/storeOutput.js';

const dir = mkdtempSync(join(tmpdir(), 'tickflow-store-'));
let ch: RunningService;
let pg: RunningService;

beforeAll(async () => {
  [ch, pg] = await Promise.all([startClickHouse(), startPostgres()]);
}, 180_000);

afterAll(async () => {
  await Promise.all([ch?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});


const SYMBOLS = ['AAA', 'BBB', 'CCC'];
const START = Date.UTC(2024, 4, 6, 9, 30);

/** A trade file of a few minutes with disorder: every 40th trade is 1.5 s older than its neighbours. */
function tradeFile(): string {
  const sim = new MarketSimulator({ seed: 16, symbols: SYMBOLS, rate: 25, start: START });
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const t = sim.nextTrade();
    lines.push(JSON.stringify(i % 40 === 39 ? { ...t, ts: t.ts - 1500 } : t));
  }
  const file = join(dir, 'trades.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

type Row = { symbol: string; timeframe: string; start: number; rev: number };

/** What a store holds after a run: per window, the highest revision the run emitted. */
function lastRevisions<T extends Row>(rows: readonly T[]): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = `${r.symbol}|${r.timeframe}|${r.start}`;
    const prev = m.get(k);
    if (prev === undefined || r.rev >= prev.rev) m.set(k, r);
  }
  return [...m.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.timeframe < b.timeframe ? -1 : a.timeframe > b.timeframe ? 1 : a.start - b.start));
}

const ALL = { from: 0, to: 4_102_444_800_000 };
const FLAGS = ['--timeframe', '1m,5m', '--out-of-orderness', '1s', '--grace', '2s'];

describe('tickflow aggregate --to (real servers)', () => {
  let file: string;
  let expected: Candle[];
  beforeAll(async () => {
    file = tradeFile();
    const ref = await aggregate(['--input', file, ...FLAGS]);
    expect(ref.code).toBe(0);
    expected = lastRevisions(ref.out.trim().split('\n').map((l) => JSON.parse(l) as Candle));
  });

  it('reads store URLs', () => {
    expect(parseStoreUrl('clickhouse://u:p%40ss@ch1:9000/ticks')).toMatchObject({ store: 'clickhouse', url: 'http://ch1:9000', database: 'ticks', username: 'u', password: 'p@ss', shown: 'clickhouse://u:***@ch1:9000/ticks' });
    expect(parseStoreUrl('clickhouse://ch1')).toMatchObject({ url: 'http://ch1:8123', database: 'tickflow' });
    expect(parseStoreUrl('postgres://x:y@pg/db?schema=bf')).toMatchObject({ store: 'postgres', url: 'postgres://x:y@pg/db', schema: 'bf' });
    expect(() => parseStoreUrl('mysql://h/db')).toThrow(/unknown store "mysql"/);
  });

  it('ClickHouse: running the same backfill twice leaves exactly the rows of one run', async () => {
    const database = `bf_${process.pid}`;
    const to = `${ch.url.replace(/^http:/, 'clickhouse:')}/${database}`;
    for (let run = 0; run < 2; run++) {
      const r = await aggregate(['--input', file, ...FLAGS, '--to', to]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/candles written to ClickHouse http:\/\/127\.0\.0\.1:\d+, database bf_/);
    }
    const store = await ClickHouseStore.connect({ url: ch.url, database, timeframes: ['1m', '5m'], log: () => {} });
    try {
      const stored = [...(await store.readCandles({ timeframe: '1m' })), ...(await store.readCandles({ timeframe: '5m' }))];
      expect(lastRevisions(stored)).toEqual(expected);
      expect(stored).toHaveLength(expected.length);
    } finally {
      await store.close();
    }
    // Row count as the server keeps it (FINAL: ReplacingMergeTree's one row per key).
    for (const tf of ['1m', '5m']) {
      const res = await fetch(`${ch.url}/`, { method: 'POST', body: `SELECT count() FROM ${database}.ohlc_${tf} FINAL` });
      expect(Number((await res.text()).trim())).toBe(expected.filter((c) => c.timeframe === tf).length);
    }
  }, 120_000);

  it('PostgreSQL: running the same backfill twice leaves exactly the rows of one run (candles and tick counts)', async () => {
    const schema = `bf_${process.pid}`;
    const to = `${pg.url}${pg.url.includes('?') ? '&' : '?'}schema=${schema}`;
    for (let run = 0; run < 2; run++) {
      const r = await aggregate(['--input', file, ...FLAGS, '--to', to]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(new RegExp(`\\d+ candles written to postgres:\\/\\/postgres@.* schema ${schema}`));
      const t = await aggregate(['--input', file, ...FLAGS, '--kind', 'ticks', '--to', to]);
      expect(t.code, t.err).toBe(0);
    }
    const ticksRef = await aggregate(['--input', file, ...FLAGS, '--kind', 'ticks']);
    const expectedTicks = lastRevisions(ticksRef.out.trim().split('\n').map((l) => JSON.parse(l) as TickCount));
    const store = await TimescaleStore.connect({ url: pg.url, schema, aggregateRefresh: false, log: () => {} });
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const candles: Candle[] = [];
      const ticks: TickCount[] = [];
      for (const symbol of SYMBOLS) {
        for (const timeframe of ['1m', '5m']) {
          candles.push(...(await store.readCandles({ symbol, timeframe, ...ALL })));
          ticks.push(...(await store.readTickCounts({ symbol, timeframe, ...ALL })));
        }
      }
      expect(lastRevisions(candles)).toEqual(expected);
      expect(lastRevisions(ticks)).toEqual(expectedTicks);
      // Raw row counts: upserts, not appends.
      const [c] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}".ohlc`);
      expect(c!.n).toBe(expected.length);
      const [k] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}".tick_counts`);
      expect(k!.n).toBe(expectedTicks.length);
    } finally {
      await sql.end();
      await store.close();
    }
  }, 120_000);

  it('refuses --to with --out, and an unknown store', async () => {
    expect((await aggregate(['--input', file, '--to', 'clickhouse://h', '--out', join(dir, 'x')])).err).toMatch(/--to and --out both/);
    const r = await aggregate(['--input', file, '--to', 'mysql://h/db']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown store "mysql"/);
  });
});
