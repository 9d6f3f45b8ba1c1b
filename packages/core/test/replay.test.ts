import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeadLetter, Trade } from '../src/index.js';
import { collect, pipeline } from '../src/index.js';
import type { ScannedBatch } from '../src/replay/index.js';
import { fromFile, fromFileColumns, fromReadable, inThreadRunner, openTradeFile, scanTradeFile, scanTrades } from '../src/replay/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tickflow-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replay(source: ReturnType<typeof fromFile>): Promise<{ trades: Trade[]; dead: DeadLetter[] }> {
  const trades = collect<Trade>();
  const dead = collect<DeadLetter>();
  await pipeline(source).deadLetters(dead).to(trades).run();
  return { trades: trades.values, dead: dead.values };
}

const NDJSON = [
  '{"symbol":"Ω-1","ts":1,"price":1.5,"size":2}',
  'garbage',
  '{"symbol":"AAPL","ts":2,"price":2,"size":1,"side":"sell"}',
  '',
  '{"symbol":"AAPL","ts":3,"price":"NaN","size":1}',
  '{"symbol":"MSFT","timestamp":"2024-01-19T10:30:45Z","price":390,"volume":7}',
].join('\n');

describe('file replay', () => {
  it('streams NDJSON with bad lines reported by line number and reason', async () => {
    const file = join(dir, 'a.ndjson');
    writeFileSync(file, `${NDJSON}\n`);
    const { trades, dead } = await replay(fromFile(file));
    expect(trades.map((t) => t.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(dead.map((d) => [d.line, d.origin])).toEqual([
      [1, 'file:a.ndjson'],
      [2, 'file:a.ndjson'],
      [5, 'file:a.ndjson'],
    ]);
    expect(dead[0]!.reason).toMatch(/symbol must be printable ASCII/);
    expect(dead[1]!.reason).toMatch(/invalid JSON/);
    expect(dead[2]!.input).toBe('{"symbol":"AAPL","ts":3,"price":"NaN","size":1}');
  });

  it('reads gzip files and CSV without a final newline', async () => {
    const file = join(dir, 'b.csv.gz');
    writeFileSync(file, gzipSync('symbol,ts,price,size\nA,1,1,1\nB,2,2,2'));
    const { trades } = await replay(fromFile(file));
    expect(trades).toEqual([
      { symbol: 'A', ts: 1, price: 1, size: 1 },
      { symbol: 'B', ts: 2, price: 2, size: 2 },
    ]);
  });

  it('gives the same result whatever the chunking, multi-byte characters split across chunks included', async () => {
    const text = `${NDJSON}\r\n{"symbol":"AAPL","ts":9,"price":1,"size":1,"id":"é€😀"}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const whole = await replay(fromReadable(Readable.from([bytes])));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 200 }), async (sizes) => {
        const chunks: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = sizes[i % sizes.length]!;
          chunks.push(bytes.subarray(at, at + n));
          at += n;
        }
        const r = await replay(fromReadable(Readable.from(chunks)));
        expect(r).toEqual(whole);
      }),
      { numRuns: 100 },
    );
    expect(whole.trades.at(-1)!.id).toBe('é€😀');
  });

  it('replays a large file without holding it in memory', async () => {
    const file = join(dir, 'big.ndjson');
    const lines = 300_000;
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      out.on('error', reject);
      let i = 0;
      const write = (): void => {
        let ok = true;
        while (i < lines && ok) {
          ok = out.write(`{"symbol":"S${i % 50}","ts":${1_700_000_000_000 + i},"price":${100 + (i % 97) / 100},"size":${1 + (i % 9)},"side":"buy","id":"${i}"}\n`);
          i++;
        }
        if (i < lines) out.once('drain', write);
        else out.end(resolve);
      };
      write();
    });
    // Measure the live heap, not garbage the collector has not reached yet:
    // collect before sampling (heapUsed alone varies with GC timing).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let count = 0;
    let batches = 0;
    let peak = 0;
    gc();
    const base = process.memoryUsage().heapUsed;
    await pipeline(fromFile(file, { batchSize: 1024 }))
      .to({
        write(batch) {
          count += batch.length;
          if (++batches % 16 === 0) {
            gc();
            peak = Math.max(peak, process.memoryUsage().heapUsed - base);
          }
        },
      })
      .run();
    expect(count).toBe(lines);
    // The file is ~30 MB of text (more as JS strings); the replay's live heap stays far below it.
    expect(peak).toBeLessThan(20 * 1024 * 1024);
  });

  it('stops promptly when the job is aborted, even on a stream that never ends', async () => {
    const stream = new Readable({ read() {} });
    stream.push('{"symbol":"A","ts":1,"price":1,"size":1}\n');
    const ac = new AbortController();
    const seen: Trade[] = [];
    const run = pipeline(fromReadable(stream))
      .to((t) => {
        seen.push(t);
        ac.abort();
      })
      .run({ signal: ac.signal });
    await expect(run).resolves.toMatchObject({ events: 1 });
    expect(seen).toHaveLength(1);
  });
});

/** Rows and dead letters of scanned batches, for comparisons. */
async function drain(batches: AsyncIterable<ScannedBatch>): Promise<{ rows: unknown[][]; dead: unknown[][] }> {
  const rows: unknown[][] = [];
  const dead: unknown[][] = [];
  for await (const b of batches) {
    const c = b.columns;
    for (let i = 0; i < c.length; i++) rows.push([c.symbols[c.symbol[i]!], c.ts[i], c.price[i], c.size[i], c.side![i], b.lines[i]]);
    for (const d of b.deadLetters) dead.push([d.line, d.reason]);
  }
  return { rows, dead };
}

describe('columnar replay', () => {
  const lines = (n: number): string =>
    Array.from({ length: n }, (_, i) => (i % 97 === 13 ? `bad line ${i}` : i % 89 === 7 ? '' : `{"symbol":"S${i % 7}","ts":${1705660245123 + i},"price":${100 + (i % 13) / 100},"size":${i % 5},"side":"${i % 2 ? 'buy' : 'sell'}"}`)).join('\n');

  it('reads gzip and zstd compressed files by their magic bytes, with the same trades and line numbers', async () => {
    const text = `${lines(2000)}\n`;
    const plain = join(dir, 'c.ndjson');
    const gz = join(dir, 'c.data');
    const zst = join(dir, 'c.zst');
    writeFileSync(plain, text);
    writeFileSync(gz, gzipSync(text));
    writeFileSync(zst, execFileSync('zstd', ['-c', plain]));
    const want = await drain(scanTrades(openTradeFile(plain)));
    expect(want.rows.length).toBeGreaterThan(1900);
    expect(want.dead.length).toBeGreaterThan(10);
    expect(await drain(scanTrades(openTradeFile(gz)))).toEqual(want);
    expect(await drain(scanTrades(openTradeFile(zst)))).toEqual(want);
  });

  it('refuses Parquet, zip and other binary input by name, without echoing it', async () => {
    const pq = join(dir, 'x.bin');
    writeFileSync(pq, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7)]));
    await expect(drain(scanTrades(openTradeFile(pq)))).rejects.toThrow(/Parquet/);
    writeFileSync(pq, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 65, 66]));
    await expect(drain(scanTrades(openTradeFile(pq)))).rejects.toThrow(/does not look like text/);
  });

  it('splits a file into blocks at line boundaries with the same trades, line numbers and dead letters as one pass', async () => {
    for (const [name, text] of [
      ['p.ndjson', `${lines(3000)}\n`],
      ['p2.ndjson', lines(3000)],
      ['p.csv', `\nsymbol,ts,price,size,side\n${Array.from({ length: 3000 }, (_, i) => (i % 101 === 5 ? 'A,x,1,1,buy' : `S${i % 5},${i * 1000},${1 + i / 100},${i % 4},${i % 3 ? 'b' : 's'}`)).join('\r\n')}\r\n`],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const want = await drain(scanTrades(openTradeFile(file)));
      for (const blockBytes of [37, 1000, 4096]) {
        const got = await drain(scanTradeFile(file, { workers: 3, blockBytes, minParallelBytes: 0, prologueBytes: 200, runner: inThreadRunner }));
        expect(got, `${name}, blocks of ${blockBytes} bytes`).toEqual(want);
      }
    }
  });

  it('fromFileColumns gives the trades of fromFile through a pipeline', async () => {
    const file = join(dir, 'f.ndjson');
    writeFileSync(file, `${lines(500)}\n`);
    const a = await replay(fromFile(file));
    const b = await replay(fromFileColumns(file));
    const strip = (t: Trade): unknown[] => [t.symbol, t.ts, t.price, t.size, t.side];
    expect(b.trades.map(strip)).toEqual(a.trades.map(strip));
    expect(b.dead.map((d) => [d.line, d.reason])).toEqual(a.dead.map((d) => [d.line, d.reason]));
  });
});

describe('TableTradeReader (Parquet/Arrow batches to columns)', () => {
  it('maps columns by name and converts times with the text path rules', async () => {
    const { TableTradeReader, mapTradeColumns } = await import('../src/replay/index.js');
    expect(mapTradeColumns(['Symbol', 'timestamp', 'price', 'volume', 'trade_id'])).toEqual({ symbol: 'Symbol', ts: 'timestamp', price: 'price', size: 'volume', id: 'trade_id' });
    expect(() => mapTradeColumns(['symbol', 'px'], 'f.parquet')).toThrow(/f\.parquet has no ts, price, size columns \(columns: symbol, px\)/);
    const r = new TableTradeReader({ origin: 't' });
    const b = r.read({ length: 4, symbol: ['A', 'A', 'B', null], ts: [1705660245123456789n, '2024-01-19 10:30:46Z', 1705660247000000000n, 1n], price: Float64Array.from([1, 2, 3, 4]), size: [1, '2', 3, 4], side: ['b', 'SELL', null, 'buy'] });
    expect(r.timeUnit).toBe('ns');
    expect(Array.from(b.columns.ts)).toEqual([1705660245123.4568, 1705660246000, 1705660247000]);
    expect(Array.from(b.columns.side!)).toEqual([1, 2, 0]);
    expect(Array.from(b.rows)).toEqual([1, 2, 3]);
    expect(b.deadLetters).toMatchObject([{ line: 4, origin: 't' }]);
    const typed = new TableTradeReader({ timeUnit: 's' }).read({ length: 1, symbol: ['A'], ts: [1705660245000], price: [1], size: [1], tsUnit: 'ms' });
    expect(typed.columns.ts[0]).toBe(1705660245000);
  });
});
