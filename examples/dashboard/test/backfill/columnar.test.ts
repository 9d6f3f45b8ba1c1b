import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dictionary, Float64, Int32, Table, TimestampMicrosecond, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate } from '../runCli.js';

const dir = mkdtempSync(join(tmpdir(), 'tickflow-columnar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


const T0 = Date.UTC(2024, 0, 19, 10, 30);
/** Trades over three minutes and two symbols, one late (row 7: its minute closed at row 6). */
const TRADES = [
  { symbol: 'AAPL', ts: T0 + 1_000, price: 150.25, size: 100, side: 'buy', id: 't1', bid: 150.2, ask: 150.3 },
  { symbol: 'MSFT', ts: T0 + 2_500, price: 400, size: 5, side: 'sell', id: 't2', bid: 399.9, ask: 400.1 },
  { symbol: 'AAPL', ts: T0 + 30_000, price: 150.75, size: 50, side: 'sell', id: 't3', bid: 150.7, ask: 150.8 },
  { symbol: 'AAPL', ts: T0 + 61_000, price: 151, size: 10, side: 'buy', id: 't4', bid: 150.9, ask: 151.1 },
  { symbol: 'MSFT', ts: T0 + 62_000, price: 401.5, size: 7, side: 'buy', id: 't5', bid: 401.4, ask: 401.6 },
  { symbol: 'AAPL', ts: T0 + 125_000, price: 152, size: 1, side: 'sell', id: 't6', bid: 151.9, ask: 152.1 },
  { symbol: 'AAPL', ts: T0 + 5_000, price: 149, size: 3, side: 'buy', id: 'late-1', bid: 148.9, ask: 149.1 },
];

const ndjson = TRADES.map((t) => JSON.stringify(t)).join('\n');

describe('tickflow aggregate: Parquet and Arrow IPC input', () => {
  let expected: string;
  it('reads NDJSON as the reference', async () => {
    const r = await aggregate(['--timeframe', '1m,5m'], ndjson);
    expect(r.code).toBe(0);
    expected = r.out;
    expect(expected.trim().split('\n').length).toBeGreaterThan(3);
  });

  it('reads a Parquet file (TIMESTAMP column, volume alias) into the same candles, late trades with every field', async () => {
    const file = join(dir, 'trades.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'timestamp', data: TRADES.map((t) => new Date(t.ts)), type: 'TIMESTAMP' },
        { name: 'Symbol', data: TRADES.map((t) => t.symbol), type: 'STRING' },
        { name: 'price', data: Float64Array.from(TRADES.map((t) => t.price)), type: 'DOUBLE' },
        { name: 'volume', data: Float64Array.from(TRADES.map((t) => t.size)), type: 'DOUBLE' },
        { name: 'side', data: TRADES.map((t) => t.side), type: 'STRING' },
        { name: 'id', data: TRADES.map((t) => t.id), type: 'STRING' },
        { name: 'bid', data: Float64Array.from(TRADES.map((t) => t.bid)), type: 'DOUBLE' },
        { name: 'ask', data: Float64Array.from(TRADES.map((t) => t.ask)), type: 'DOUBLE' },
      ],
      rowGroupSize: 3,
    });
    const r = await aggregate(['--input', file, '--timeframe', '1m,5m']);
    expect(r.err).toMatch(/7 trades, .* 1 late, 0 bad lines/);
    expect(r.out).toBe(expected);
    const late = /^row 7: late trade .*: (\{.*\})$/m.exec(r.err);
    expect(late).not.toBeNull();
    expect(JSON.parse(late![1]!)).toEqual(TRADES[6]);
  });

  it('reads Parquet int64 epoch nanoseconds (detected) and ISO strings', async () => {
    const ns = join(dir, 'ns.parquet');
    parquetWriteFile({
      filename: ns,
      columnData: [
        { name: 'symbol', data: TRADES.map((t) => t.symbol), type: 'STRING' },
        { name: 'ts', data: BigInt64Array.from(TRADES.map((t) => BigInt(t.ts) * 1_000_000n)), type: 'INT64' },
        { name: 'price', data: Float64Array.from(TRADES.map((t) => t.price)), type: 'DOUBLE' },
        { name: 'size', data: Float64Array.from(TRADES.map((t) => t.size)), type: 'DOUBLE' },
        { name: 'side', data: TRADES.map((t) => t.side), type: 'STRING' },
      ],
    });
    expect((await aggregate(['--input', ns, '--timeframe', '1m,5m'])).out).toBe(expected);
    const iso = join(dir, 'iso.parquet');
    parquetWriteFile({
      filename: iso,
      columnData: [
        { name: 'symbol', data: TRADES.map((t) => t.symbol), type: 'STRING' },
        { name: 'time', data: TRADES.map((t) => new Date(t.ts).toISOString().replace('T', ' ').replace('Z', '')), type: 'STRING' },
        { name: 'price', data: Float64Array.from(TRADES.map((t) => t.price)), type: 'DOUBLE' },
        { name: 'qty', data: Float64Array.from(TRADES.map((t) => t.size)), type: 'DOUBLE' },
        { name: 'side', data: TRADES.map((t) => t.side), type: 'STRING' },
      ],
    });
    expect((await aggregate(['--input', iso, '--timeframe', '1m,5m'])).out).toBe(expected);
  });

  it('takes --time-unit for plain numbers in Parquet', async () => {
    const file = join(dir, 'seconds.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'symbol', data: ['A'], type: 'STRING' },
        { name: 'ts', data: Float64Array.from([1705660245]), type: 'DOUBLE' },
        { name: 'price', data: Float64Array.from([1]), type: 'DOUBLE' },
        { name: 'size', data: Float64Array.from([1]), type: 'DOUBLE' },
      ],
    });
    expect(JSON.parse((await aggregate(['--input', file])).out)).toMatchObject({ start: Date.UTC(2024, 0, 19, 10, 30) });
    expect(JSON.parse((await aggregate(['--input', file, '--time-unit', 'ms'])).out)).toMatchObject({ start: 1705620000 });
  });

  it('reports bad rows by row number and goes on', async () => {
    const file = join(dir, 'bad.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'symbol', data: ['A', 'A', null, 'A'], type: 'STRING' },
        { name: 'ts', data: [T0, T0 + 1, T0 + 2, T0 + 3], type: 'DOUBLE' },
        { name: 'price', data: [1, null, 1, 2], type: 'DOUBLE' },
        { name: 'size', data: [1, 1, 1, -1], type: 'DOUBLE' },
      ],
    });
    const r = await aggregate(['--input', file]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^row 2: /m);
    expect(r.err).toMatch(/^row 3: /m);
    expect(r.err).toMatch(/^row 4: .*size/m);
    expect(r.err).toMatch(/1 trades, 1 candles, 0 late, 3 bad lines/);
  });

  it('names the missing columns of a table', async () => {
    const file = join(dir, 'nocols.parquet');
    parquetWriteFile({ filename: file, columnData: [{ name: 'symbol', data: ['A'], type: 'STRING' }, { name: 'px', data: Float64Array.from([1]), type: 'DOUBLE' }] });
    const r = await aggregate(['--input', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no ts, price, size columns \(columns: symbol, px\)/);
  });

  for (const kind of ['file', 'stream'] as const) {
    it(`reads an Arrow IPC ${kind} (timestamp[us], dictionary symbols) into the same candles`, async () => {
      const table = new Table({
        symbol: vectorFromArray(TRADES.map((t) => t.symbol), new Dictionary(new Utf8(), new Int32())),
        ts: vectorFromArray(TRADES.map((t) => t.ts), new TimestampMicrosecond()),
        price: vectorFromArray(TRADES.map((t) => t.price), new Float64()),
        size: vectorFromArray(TRADES.map((t) => t.size), new Float64()),
        side: vectorFromArray(TRADES.map((t) => t.side), new Utf8()),
        id: vectorFromArray(TRADES.map((t) => t.id), new Utf8()),
        bid: vectorFromArray(TRADES.map((t) => t.bid), new Float64()),
        ask: vectorFromArray(TRADES.map((t) => t.ask), new Float64()),
      });
      const file = join(dir, `trades.${kind === 'file' ? 'arrow' : 'arrows'}`);
      writeFileSync(file, tableToIPC(table, kind));
      const r = await aggregate(['--input', file, '--timeframe', '1m,5m']);
      expect(r.code).toBe(0);
      expect(r.out).toBe(expected);
      const late = /^row 7: late trade .*: (\{.*\})$/m.exec(r.err);
      expect(JSON.parse(late![1]!)).toEqual(TRADES[6]);
    });
  }
});

describe('tickflow aggregate: Parquet output', () => {
  it('writes candles that read back equal to the NDJSON results', async () => {
    const ref = await aggregate(['--timeframe', '1m,5m'], ndjson);
    const candles = ref.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const file = join(dir, 'candles.parquet');
    const r = await aggregate(['--timeframe', '1m,5m', '--output', 'parquet', '--out', file], ndjson);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(new RegExp(`${candles.length} rows written to .*candles\\.parquet \\(Parquet\\)`));
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
    const back = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v])));
    expect(back).toEqual(candles);
    expect(Object.keys(rows[0]!)).toEqual(Object.keys(candles[0]!));
  });

  it('writes volume profiles with their levels, and an empty run as a file with the columns', async () => {
    const ref = await aggregate(['--kind', 'profile'], ndjson);
    const profiles = ref.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const file = join(dir, 'profiles.parquet');
    expect((await aggregate(['--kind', 'profile', '--output', 'parquet', '--out', file], ndjson)).code).toBe(0);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
    const back = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v])));
    expect(back).toEqual(profiles.map((p) => ({ ...p })));

    const empty = join(dir, 'empty.parquet');
    expect((await aggregate(['--output', 'parquet', '--out', empty], '')).code).toBe(0);
    expect(await parquetReadObjects({ file: await asyncBufferFromFile(empty) })).toEqual([]);
  });

  it('needs --out for Parquet', async () => {
    const r = await aggregate(['--output', 'parquet'], ndjson);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--output parquet needs --out FILE/);
  });
});
