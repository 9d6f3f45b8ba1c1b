import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate } from '../runCli.js';
import { LateLineMatcher } from '../../src/backfill/lateLineMatcher.js';
import { ReportLimiter } from '../../src/backfill/reportLimiter.js';

const dir = mkdtempSync(join(tmpdir(), 'tickflow-backfill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


const trade = (ts: number | string, price = 1, size = 1): string => `{"symbol":"A","ts":${typeof ts === 'string' ? ts : ts},"price":${price},"size":${size}}`;

describe('tickflow aggregate (backfill)', () => {
  it('prints its own options with --help', async () => {
    const { code, out } = await aggregate(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: tickflow aggregate/);
    for (const flag of ['--time-unit', '--output', '--out', '--max-reports', '--progress', '--threads']) expect(out).toContain(flag);
    expect(out).not.toMatch(/--brokers/);
  });

  it('reports late trades with their line number', async () => {
    const input = [trade(70_000), trade(1000), trade(71_000), trade(2000)].join('\n');
    const { code, err } = await aggregate([], input);
    expect(code).toBe(0);
    expect(err).toMatch(/^line 2: late trade \(window 1970-01-01T00:00:00.000Z closed/m);
    expect(err).toMatch(/^line 4: late trade/m);
    expect(err).toMatch(/2 late/);
  });

  it('tells an on-time trade from an identical late one', async () => {
    // Lines 1 and 3 are the same trade: on time at first, late once the watermark has passed its window.
    const input = [trade(1000), trade(70_000), trade(1000)].join('\n');
    const { err } = await aggregate([], input);
    expect(err).toMatch(/^line 3: late trade/m);
    expect(err).not.toMatch(/^line 1:/m);
  });

  it('reports a late trade of a file with every field of its line (NDJSON and CSV)', async () => {
    const ndjson = join(dir, 'late-fields.ndjson');
    writeFileSync(ndjson, [trade(70_000), '', '{"symbol":"A","ts":1000,"price":2,"size":3,"id":"t-2","bid":1.5,"ask":2.5,"venue":"X"}', trade(71_000)].join('\n'));
    const n = await aggregate(['--input', ndjson]);
    expect(n.code).toBe(0);
    const nLate = /^line 3: late trade .*: (\{.*\})$/m.exec(n.err);
    expect(JSON.parse(nLate![1]!)).toEqual({ symbol: 'A', ts: 1000, price: 2, size: 3, id: 't-2', bid: 1.5, ask: 2.5, venue: 'X' });

    const csv = join(dir, 'late-fields.csv');
    writeFileSync(csv, ['symbol,ts,price,size,id,bid,ask', 'A,70000,1,1,t-1,,', 'A,1000,2,3,t-2,1.5,2.5\r', 'A,71000,1,1,t-3,,'].join('\n'));
    const c = await aggregate(['--input', csv]);
    expect(c.code).toBe(0);
    const cLate = /^line 3: late trade .*: (\{.*\})$/m.exec(c.err);
    expect(JSON.parse(cLate![1]!)).toEqual({ symbol: 'A', ts: '1000', price: '2', size: '3', id: 't-2', bid: '1.5', ask: '2.5' });
  });

  it('summarises late trades and bad lines past --max-reports', async () => {
    const lines = [trade(600_000)];
    for (let i = 0; i < 10; i++) lines.push(trade(i * 1000));
    for (let i = 0; i < 5; i++) lines.push('nonsense');
    const { err } = await aggregate(['--max-reports', '2'], lines.join('\n'));
    expect(err.match(/late trade \(/g)).toHaveLength(2);
    expect(err).toMatch(/… 8 more late trades not shown \(lines 4–11\)/);
    expect(err.match(/^line \d+: invalid JSON/gm)).toHaveLength(2);
    expect(err).toMatch(/… 3 more bad lines not shown \(lines 14–16\)/);
    expect(err).toMatch(/10 late, 5 bad lines/);
  });

  it('detects epoch seconds, micro- and nanoseconds, or takes --time-unit', async () => {
    const minute = Date.UTC(2024, 0, 19, 10, 30);
    for (const [ts, args] of [
      ['1705660245', []],
      ['1705660245123456', []],
      ['1705660245123456789', []],
      ['1705660245', ['--time-unit', 's']],
    ] as const) {
      const { out } = await aggregate([...args], trade(ts));
      expect(JSON.parse(out)).toMatchObject({ start: minute, trades: 1 });
    }
    const { out, err } = await aggregate(['--time-unit', 'ms'], trade('1705660245'));
    expect(JSON.parse(out)).toMatchObject({ start: 1705620000 });
    expect(err).not.toMatch(/note/);
  });

  it('notes timestamps that land near 1970 instead of staying silent', async () => {
    const { err } = await aggregate([], trade(1000));
    expect(err).toMatch(/note: the first trade's time 1000 read as epoch milliseconds is 1970-01-01T00:00:01.000Z; .*--time-unit/);
  });

  it('reads gzip-compressed input from a file and writes CSV', async () => {
    const file = join(dir, 'trades.data');
    writeFileSync(file, gzipSync('symbol,ts,price,size,side\nA,0,10,5,buy\nA,1000,11,5,sell\nB,2000,3,1,\n'));
    const { code, out } = await aggregate(['--input', file, '--output', 'csv']);
    expect(code).toBe(0);
    const [header, ...rows] = out.trim().split('\n');
    expect(header).toBe('symbol,timeframe,start,end,open,high,low,close,volume,trades,vwap,buyVolume,sellVolume,final,rev');
    expect(rows.map((r) => r.split(',').slice(0, 10).join(','))).toEqual(['A,1m,0,60000,10,11,10,11,10,2', 'B,1m,0,60000,3,3,3,3,1,1']);
  });

  it('refuses a compressed or binary file it cannot read without printing it as a CSV header', async () => {
    const file = join(dir, 'trades.zip');
    writeFileSync(file, Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), Buffer.from('symbol-looking junk\x00\x01')]));
    const { code, err } = await aggregate(['--input', file]);
    expect(code).toBe(2);
    expect(err).toMatch(/zip archive/);
    expect(err).not.toMatch(/junk/);
  });

  it('hints at the delimiter of a one-column header', async () => {
    const { code, err } = await aggregate([], 'symbol;ts;price;size\nA;1;1;1\n');
    expect(code).toBe(2);
    expect(err).toMatch(/semicolon-delimited/);
  });
});

describe('ReportLimiter', () => {
  it('lets the first N through and summarises the rest with their line range', () => {
    const r = new ReportLimiter('late trades', 1);
    expect([r.take(5), r.take(9), r.take(7)]).toEqual([true, false, false]);
    expect(r.summary()).toBe('… 2 more late trades not shown (lines 7–9); --max-reports N shows more');
    expect(new ReportLimiter('bad lines', 3).summary()).toBeUndefined();
  });
});

describe('LateLineMatcher', () => {
  it('returns undefined outside a batch', () => {
    const m = new LateLineMatcher(0);
    expect(m.lineOf({ event: {}, key: 'A', windowStart: 0, windowEnd: 1, watermark: 0, operator: 'x' })).toBeUndefined();
  });
});
