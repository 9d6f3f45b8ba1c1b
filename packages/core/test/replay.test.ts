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
import { fromFile, fromReadable } from '../src/replay/index.js';

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
