import { TickflowError, fromArray, pipeline } from '@tickflow/core';
import type { DeadLetter, Trade } from '@tickflow/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchingSink } from './batchingSink.js';
import type { BreakerState, SinkTarget } from './sink.js';
import { tradeProblem } from './rowValidation.js';

/**
 * An in-memory store with the knobs the sink's logic needs: failures on
 * demand, a gate that holds writes, and a record of every write call.
 */
class MemoryTarget<T> implements SinkTarget<T> {
  readonly name = 'memory';
  readonly rows: T[] = [];
  readonly calls: number[] = [];
  failures = 0;
  failWith = 'store unavailable';
  closed = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(readonly validate?: (row: T) => string | undefined) {}

  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async writeRows(rows: readonly T[]): Promise<void> {
    this.calls.push(rows.length);
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error(this.failWith);
    }
    this.rows.push(...rows);
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves once the store has been asked for `n` writes (a held write is then in flight). */
const writesStarted = (target: MemoryTarget<number>, n: number) => vi.waitFor(() => expect(target.calls).toHaveLength(n));
const fast = { retry: { initialDelay: 1, maxDelay: 5 }, breaker: { resetTimeout: 20 } } as const;

function trade(over: Partial<Trade> = {}): Trade {
  return { symbol: 'AAPL', ts: 1_700_000_000_000, price: 150.25, size: 10, side: 'buy', ...over };
}

describe('BatchingSink', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('splits queued rows into store writes of at most maxBatchSize, in order', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 100, maxBatchAge: 10_000 });
    sink.enqueue(range(130));
    sink.enqueue(range(120, 130));
    await sink.flush();
    expect(target.calls).toEqual([100, 100, 50]);
    expect(target.rows).toEqual(range(250));
    await sink.close();
  });

  it('writes a partial batch once its oldest row is maxBatchAge old, without a flush', async () => {
    const target = new MemoryTarget<number>();
    vi.useFakeTimers();
    const sink = new BatchingSink(target, { maxBatchSize: 1_000, maxBatchAge: 40 });
    sink.enqueue(range(10));
    await vi.advanceTimersByTimeAsync(39);
    expect(target.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(target.calls).toEqual([10]);
    expect(target.rows).toEqual(range(10));
    await sink.close();
  });

  it('resolves write() only when the rows are durable', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 5, maxBatchAge: 0 });
    target.hold();
    let durable = false;
    const p = sink.write(range(5)).then(() => (durable = true));
    await writesStarted(target, 1);
    expect(durable).toBe(false);
    target.release();
    await p;
    expect(durable).toBe(true);
    expect(target.rows).toEqual(range(5));
    await sink.close();
  });

  it('retries a failed write with backoff until the store takes it, writing every row once', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 10, maxBatchAge: 0, ...fast, breaker: { volumeThreshold: 100 } });
    const delays: number[] = [];
    sink.on('retry', (r) => delays.push(r.delayMs));
    target.failures = 3;
    await sink.write(range(10));
    expect(target.rows).toEqual(range(10));
    expect(sink.stats.retries).toBe(3);
    expect(delays).toHaveLength(3);
    expect(sink.stats.lastError).toMatch(/store unavailable/);
    await sink.close();
  });

  it('opens the breaker after repeated failures, probes half-open, and closes again when the store is back', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 10, maxBatchAge: 0, retry: { initialDelay: 5, maxDelay: 10 }, breaker: { volumeThreshold: 3, resetTimeout: 30 } });
    const states: BreakerState[] = [];
    sink.on('breaker', (s) => states.push(s));
    target.failures = 4; // three to open it, then one failed probe that re-opens it
    await sink.write(range(10));
    expect(states).toEqual(['open', 'halfOpen', 'open', 'halfOpen', 'closed']);
    expect(sink.stats.breakerOpens).toBe(2);
    expect(sink.stats.breaker).toBe('closed');
    // While open, attempts failed fast without reaching the store.
    expect(target.calls.length).toBe(5); // 4 failures + the successful probe
    expect(sink.stats.retries).toBeGreaterThan(5);
    expect(target.rows).toEqual(range(10));
    await sink.close();
  });

  it('makes enqueue wait while more than maxBufferedRows are not yet durable, and lets it go when they are', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 50, maxBatchAge: 0, maxBufferedRows: 100 });
    target.hold();
    expect(sink.enqueue(range(50))).toBeUndefined();
    expect(sink.enqueue(range(50, 50))).toBeUndefined();
    const wait = sink.enqueue(range(50, 100));
    expect(wait).toBeInstanceOf(Promise);
    expect(sink.stats.buffered).toBe(150);
    let released = false;
    void wait!.then(() => (released = true));
    await writesStarted(target, 1);
    expect(released).toBe(false);
    target.release();
    await wait;
    await sink.flush();
    expect(target.rows).toEqual(range(150));
    expect(sink.stats.backpressureWaits).toBe(1);
    expect(sink.stats.maxBuffered).toBe(150);
    await sink.close();
  });

  it('pauses a pipeline while the store is slow and keeps memory bounded, losing nothing', async () => {
    const target = new MemoryTarget<number>();
    const slow: SinkTarget<number> = {
      name: 'slow',
      writeRows: async (rows) => {
        await sleep(2); // a slow store on purpose: the pipeline must outrun it
        await target.writeRows(rows);
      },
    };
    const sink = new BatchingSink(slow, { maxBatchSize: 200, maxBatchAge: 1, maxBufferedRows: 500 });
    const events = range(20_000);
    await pipeline(fromArray(events, { batchSize: 100 })).to(sink).run();
    expect(target.rows).toEqual(events);
    expect(sink.stats.backpressureWaits).toBeGreaterThan(0);
    expect(sink.stats.maxBuffered).toBeLessThanOrEqual(500 + 100);
    expect(sink.stats.rowsWritten).toBe(20_000);
  });

  it('sends invalid rows to the dead-letter output with the reason and stores the valid ones of the same batch', async () => {
    const target = new MemoryTarget<Trade>(tradeProblem);
    const letters: DeadLetter[] = [];
    const sink = new BatchingSink(target, { maxBatchAge: 0, deadLetter: (l) => letters.push(l) });
    const good = [trade({ ts: 1 }), trade({ ts: 2 })];
    const bad = [trade({ price: Number.NaN }), trade({ size: -1 }), trade({ symbol: 'X'.repeat(40) })];
    await sink.write([good[0]!, ...bad, good[1]!]);
    expect(target.rows).toEqual(good);
    expect(letters.map((l) => l.reason)).toEqual([
      'memory: price must be a finite number, got NaN',
      'memory: size must be ≥ 0, got -1',
      expect.stringMatching(/^memory: symbol must be at most 32 characters, got 40/),
    ]);
    expect(letters.map((l) => l.input)).toEqual(bad);
    expect(sink.stats.rowsRejected).toBe(3);
    await sink.close();
  });

  it('warns once when rows are rejected and no dead-letter output is set', async () => {
    const warnings: string[] = [];
    const sink = new BatchingSink(new MemoryTarget<Trade>(tradeProblem), { maxBatchAge: 0, warn: (m) => warnings.push(m) });
    await sink.write([trade({ price: -1 }), trade({ price: 0 })]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/price must be > 0, got -1.*stats\.rowsRejected/);
    expect(sink.stats.rowsRejected).toBe(2);
    await sink.close();
  });

  it('gives up on a batch after maxAttempts: its rows go to the dead-letter output, write() rejects, later rows are written', async () => {
    const target = new MemoryTarget<number>();
    const letters: DeadLetter[] = [];
    const sink = new BatchingSink(target, { maxBatchSize: 3, maxBatchAge: 0, ...fast, retry: { initialDelay: 1, maxDelay: 2, maxAttempts: 2 }, deadLetter: (l) => letters.push(l) });
    target.failures = 2;
    const first = sink.write([1, 2, 3]);
    await expect(first).rejects.toMatchObject({ code: 'SINK_FAILED' });
    await sink.write([4, 5]);
    expect(target.rows).toEqual([4, 5]);
    expect(letters.map((l) => l.input)).toEqual([1, 2, 3]);
    expect(letters[0]!.reason).toMatch(/gave up after 2 attempts: store unavailable/);
    expect(sink.stats.rowsFailed).toBe(3);
    await sink.close();
  });

  it('flushes on close, closes the target once, and refuses writes afterwards', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target, { maxBatchSize: 1_000, maxBatchAge: 60_000 });
    sink.enqueue(range(7));
    target.hold();
    const first = sink.close();
    let secondDone = false;
    const second = sink.close().then(() => (secondDone = true));
    await writesStarted(target, 1);
    expect(secondDone).toBe(false); // a second close waits for the rows too
    target.release();
    await Promise.all([first, second]);
    expect(target.rows).toEqual(range(7));
    expect(target.closed).toBe(1);
    expect(() => sink.enqueue([1])).toThrow(TickflowError);
    await expect(sink.write([1])).rejects.toMatchObject({ code: 'SINK_CLOSED' });
  });

  it('ignores empty batches', async () => {
    const target = new MemoryTarget<number>();
    const sink = new BatchingSink(target);
    expect(sink.enqueue([])).toBeUndefined();
    await sink.write([]);
    await sink.close();
    expect(target.calls).toEqual([]);
  });

  it('rejects invalid options with a clear message', () => {
    expect(() => new BatchingSink(new MemoryTarget<number>(), { maxBatchSize: 0 })).toThrow(/invalid options for sink "memory": maxBatchSize/);
    expect(() => new BatchingSink(new MemoryTarget<number>(), { maxBatchAge: '5 minutes' })).toThrow(TickflowError);
  });
});
