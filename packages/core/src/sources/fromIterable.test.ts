import { describe, expect, it } from 'vitest';
import { collect } from '../output.js';
import { pipeline } from '../pipeline.js';
import type { SourceContext } from '../source.js';
import { fromArray } from './fromArray.js';
import { fromIterable } from './fromIterable.js';

const ctx = (signal = new AbortController().signal): SourceContext => ({ signal, deadLetter: () => {}, addInput: () => 1, removeInput: () => {} });

describe('fromIterable', () => {
  it('batches a sync iterable by batchSize', async () => {
    const batches: unknown[][] = [];
    for await (const b of fromIterable([1, 2, 3, 4, 5], { batchSize: 2 }).read(ctx())) batches.push([...(b as number[])]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('delivers every item of an async iterable, in order', async () => {
    async function* gen(): AsyncGenerator<{ ts: number }> {
      for (let i = 0; i < 100; i++) {
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
        yield { ts: i };
      }
    }
    const out = collect<{ ts: number }>();
    await pipeline(fromIterable(gen(), { batchSize: 7 })).to(out).run();
    expect(out.values.map((v) => v.ts)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('stops a never-ending async iterable on abort and closes it', async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<{ ts: number }> {
      try {
        for (let i = 0; ; i++) {
          await new Promise((r) => setTimeout(r, 2));
          yield { ts: i };
        }
      } finally {
        closed = true;
      }
    }
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const stats = await pipeline(fromIterable(endless())).to(() => {}).run({ signal: ac.signal });
    expect(stats.events).toBeGreaterThan(0);
    expect(closed).toBe(true);
  });

  it('rejects a bad batch size', () => {
    expect(() => fromIterable([], { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => fromArray([], { batchSize: 1.5 })).toThrow(/batchSize must be a positive integer/);
  });
});
