import { describe, expect, it } from 'vitest';
import type { Trade } from './events/trade.js';
import { collect } from './output.js';
import { filter } from './operators/filter.js';
import { map } from './operators/map.js';
import { pipeline } from './pipeline.js';
import { fromArray } from './sources/fromArray.js';
import type { Source } from './source.js';

const trade = (ts: number, symbol = 'A'): Trade => ({ symbol, ts, price: 1, size: 1 });

describe('pipeline', () => {
  it('composes operators with type inference and delivers values in order', async () => {
    const out = collect<number>();
    const stats = await pipeline(fromArray([trade(1), trade(2), trade(3)], { batchSize: 2 }))
      .pipe(
        filter((t: Trade) => t.ts !== 2),
        map((t) => t.ts * 10),
      )
      .to(out)
      .run();
    expect(out.values).toEqual([10, 30]);
    expect(stats).toMatchObject({ events: 3, emitted: 2, late: 0, deadLetters: 0, watermark: 3 });
  });

  it('waits for a slow output before reading more input (backpressure), and writes never overlap', async () => {
    let read = 0;
    let active = 0;
    let maxActive = 0;
    let maxAhead = 0;
    let written = 0;
    const source: Source<Trade> = {
      name: 'counting',
      async *read() {
        for (let i = 0; i < 20; i++) {
          read++;
          maxAhead = Math.max(maxAhead, read - written);
          yield [trade(i)];
        }
      },
    };
    await pipeline(source)
      .to({
        async write(batch) {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 2));
          written += batch.length;
          active--;
        },
      })
      .run();
    expect(written).toBe(20);
    expect(maxActive).toBe(1);
    expect(maxAhead).toBeLessThanOrEqual(1);
  });

  it('hands batches to a buffering output through enqueue, waits only when it asks to, and closes it at the end', async () => {
    const accepted: number[] = [];
    const calls: string[] = [];
    let waits = 0;
    await pipeline(fromArray([1, 2, 3, 4, 5, 6].map((i) => trade(i)), { batchSize: 2 }))
      .pipe(map((t: Trade) => t.ts))
      .to({
        write() {
          calls.push('write');
        },
        enqueue(batch) {
          calls.push('enqueue');
          accepted.push(...batch);
          // Full after every second batch: the pipeline must wait for this promise.
          if (accepted.length % 4 !== 0) return undefined;
          waits++;
          return new Promise<void>((r) => setTimeout(r, 2));
        },
        close() {
          calls.push('close');
        },
      })
      .run();
    expect(accepted).toEqual([1, 2, 3, 4, 5, 6]);
    expect(calls).toEqual(['enqueue', 'enqueue', 'enqueue', 'close']);
    expect(waits).toBe(1);
  });

  it('routes dead letters from sources to the dead-letter output', async () => {
    const dead = collect<{ reason: string; line?: number }>();
    const source: Source<Trade> = {
      name: 'bad-lines',
      async *read(ctx) {
        ctx.deadLetter({ reason: 'invalid JSON', input: '{', origin: 'bad-lines', line: 3 });
        yield [trade(1)];
      },
    };
    const stats = await pipeline(source).deadLetters(dead).to(() => {}).run();
    expect(dead.values).toEqual([{ reason: 'invalid JSON', input: '{', origin: 'bad-lines', line: 3 }]);
    expect(stats.deadLetters).toBe(1);
  });

  it('is one run per job: a second run or a push after end is a clear error', async () => {
    const job = pipeline(fromArray([trade(1)])).to(() => {});
    await job.run();
    await expect(job.run()).rejects.toThrow(/already ended; build a new job/);
    expect(() => job.push(trade(2))).toThrow(/has ended/);
    await expect(pipeline<Trade>().to(() => {}).run()).rejects.toThrow(/has no source/);
  });

  it('validates options at build time', () => {
    expect(() => pipeline({ outOfOrderness: '2 secs' as never })).toThrow(/outOfOrderness "2 secs" is not a duration/);
    expect(() => pipeline({ timestamp: 5 as never })).toThrow(/timestamp must be a function/);
  });

  it('uses a custom timestamp accessor for event time', async () => {
    const out = collect<{ t: number }>();
    const job = pipeline<{ t: number }>({ timestamp: (e) => e.t }).to(out);
    job.push({ t: 5 });
    job.push({ t: 9 });
    expect(job.watermark).toBe(9);
    await job.end();
    expect(out.values).toEqual([{ t: 5 }, { t: 9 }]);
  });
});
