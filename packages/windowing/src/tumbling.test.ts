import type { Candle, Keyed, LateEvent, PipelineBuilder, Source, TickCount, Trade } from '@tickflow/core';
import { TickflowError, collect, fromArray, fromIterable, keyBy, map, pipeline } from '@tickflow/core';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ohlcv, tickCount, tumbling } from './index.js';

const MIN = 60_000;
const t = (symbol: string, ts: number, price: number, size = 1, side?: 'buy' | 'sell'): Trade => (side ? { symbol, ts, price, size, side } : { symbol, ts, price, size });

async function candles(trades: Trade[], opts: Parameters<typeof tumbling>[0], ooo = 0): Promise<{ out: Candle[]; late: LateEvent[] }> {
  const out = collect<Candle>();
  const late = collect<LateEvent>();
  await pipeline(fromArray(trades), { outOfOrderness: ooo }).pipe(keyBy('symbol'), tumbling(opts, ohlcv())).late(late).to(out).run();
  return { out: out.values, late: late.values };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('tumbling', () => {
  it('emits nothing for an empty stream', async () => {
    const { out, late } = await candles([], { size: '1m' });
    expect(out).toEqual([]);
    expect(late).toEqual([]);
  });

  it('emits one final candle for one trade', async () => {
    const { out } = await candles([t('AAPL', 1_000, 150.25, 50, 'buy')], { size: '1m' });
    expect(out).toEqual([
      { symbol: 'AAPL', timeframe: '1m', start: 0, end: MIN, open: 150.25, high: 150.25, low: 150.25, close: 150.25, volume: 50, trades: 1, vwap: 150.25, buyVolume: 50, sellVolume: 0, final: true, rev: 3 },
    ]);
  });

  it('aggregates many trades per symbol and minute, in window-end order', async () => {
    const { out } = await candles(
      [t('A', 0, 10, 1), t('B', 1, 20, 2), t('A', 59_999, 12, 3, 'sell'), t('A', 60_000, 11, 1), t('B', 61_000, 21, 1), t('A', 130_000, 9, 1)],
      { size: '1m' },
    );
    expect(out.map((c) => [c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.trades])).toEqual([
      ['A', 0, 10, 12, 10, 12, 4, 2],
      ['B', 0, 20, 20, 20, 20, 2, 1],
      ['A', MIN, 11, 11, 11, 11, 1, 1],
      ['B', MIN, 21, 21, 21, 21, 1, 1],
      ['A', 2 * MIN, 9, 9, 9, 9, 1, 1],
    ]);
  });

  it('puts a trade exactly on a boundary (ts % size === 0) in the window that starts there', async () => {
    const { out } = await candles([t('A', MIN - 1, 1), t('A', MIN, 2), t('A', 2 * MIN, 3)], { size: '1m' });
    expect(out.map((c) => [c.start, c.end, c.open])).toEqual([
      [0, MIN, 1],
      [MIN, 2 * MIN, 2],
      [2 * MIN, 3 * MIN, 3],
    ]);
  });

  it('aligns windows to the UTC epoch, also for 4h and 1d', async () => {
    const ts = Date.UTC(2024, 0, 19, 10, 30, 45, 123);
    const { out } = await candles([t('A', ts, 1)], { size: ['1m', '4h', '1d'] });
    expect(out.map((c) => [c.timeframe, new Date(c.start).toISOString()])).toEqual([
      ['1m', '2024-01-19T10:30:00.000Z'],
      ['4h', '2024-01-19T08:00:00.000Z'],
      ['1d', '2024-01-19T00:00:00.000Z'],
    ]);
  });

  it('orders open/close by event time, not arrival, and breaks ties by arrival', async () => {
    const { out } = await candles([t('A', 30_000, 3), t('A', 10_000, 1), t('A', 10_000, 2), t('A', 50_000, 5), t('A', 50_000, 6), t('A', 20_000, 4)], { size: '1m' }, 60_000);
    expect(out[0]).toMatchObject({ open: 1, close: 6, high: 6, low: 1, trades: 6 });
  });

  it('holds a window open for out-of-order trades within the allowed out-of-orderness', async () => {
    const { out, late } = await candles([t('A', 59_000, 1), t('A', 61_000, 2), t('A', 58_000, 3)], { size: '1m' }, 5_000);
    expect(late).toEqual([]);
    expect(out[0]).toMatchObject({ start: 0, trades: 2, close: 1, rev: 5 });
  });

  it('re-emits a window when a late trade arrives inside grace', async () => {
    const { out, late } = await candles([t('A', 10_000, 1), t('A', 65_000, 2), t('A', 20_000, 3)], { size: '1m', grace: '10s' });
    expect(late).toEqual([]);
    expect(out.map((c) => [c.start, c.rev, c.final, c.trades, c.close])).toEqual([
      // The version is 2 × trades + 1 once final: a correction always carries a higher one.
      [0, 3, true, 1, 1],
      [0, 5, true, 2, 3],
      [MIN, 3, true, 1, 2],
    ]);
  });

  it('sends a trade later than grace to the late output, counted, never dropped', async () => {
    const out = collect<Candle>();
    const late = collect<LateEvent>();
    const job = pipeline(fromArray([t('A', 10_000, 1), t('A', 75_000, 2), t('A', 20_000, 3)])).pipe(keyBy('symbol'), tumbling({ size: '1m', grace: '10s' }, ohlcv())).late(late).to(out);
    const stats = await job.run();
    expect(late.values).toEqual([{ event: t('A', 20_000, 3), key: 'A', windowStart: 0, windowEnd: MIN, watermark: 75_000, operator: 'tumbling' }]);
    expect(stats.late).toBe(1);
    expect(out.values.map((c) => c.trades)).toEqual([1, 1]);
  });

  it('warns once and counts late events when no late output is configured', async () => {
    const warnings: string[] = [];
    const stats = await pipeline(fromArray([t('A', 70_000, 1), t('A', 1_000, 2), t('A', 2_000, 3)]), { onWarning: (m) => warnings.push(m) })
      .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
      .to(() => {})
      .run();
    expect(stats.late).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/late/);
  });

  it('creates a window first seen late but inside grace and emits it at once', async () => {
    const { out } = await candles([t('A', 125_000, 1), t('A', 90_000, 2)], { size: '1m', grace: '1m' });
    expect(out.map((c) => [c.start, c.rev, c.final])).toEqual([
      [MIN, 3, true],
      [2 * MIN, 3, true],
    ]);
  });

  it('releases state of closed windows: open windows stay bounded however many events pass', async () => {
    const job = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'], grace: '5s' }, ohlcv())).to(() => {});
    const stage = (job as unknown as { head: { openWindows: number } }).head;
    let maxOpen = 0;
    for (let i = 0; i < 200_000; i++) {
      job.push(t(`S${i % 50}`, i * 100, 100 + (i % 7), 1));
      if (i % 1000 === 0) maxOpen = Math.max(maxOpen, stage.openWindows);
    }
    // 50 symbols × (current + one in grace) × 2 timeframes, whatever the event count.
    expect(maxOpen).toBeLessThanOrEqual(50 * 2 * 2);
    await job.end();
    expect(stage.openWindows).toBe(0);
  });

  it('flushes all open windows at end of input', async () => {
    const { out } = await candles([t('A', 0, 1), t('B', 1_000, 2)], { size: '1h' });
    expect(out.map((c) => [c.symbol, c.final])).toEqual([
      ['A', true],
      ['B', true],
    ]);
  });

  it('fails the run with the source error, after delivering what was emitted', async () => {
    const out = collect<Candle>();
    async function* failing(): AsyncGenerator<Trade> {
      yield t('A', 0, 1);
      yield t('A', 70_000, 2);
      throw new Error('feed broke');
    }
    const job = pipeline(fromIterable(failing())).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(out);
    await expect(job.run()).rejects.toMatchObject({ code: 'SOURCE_FAILED', message: expect.stringContaining('feed broke') });
    expect(out.values.map((c) => c.start)).toEqual([0]);
  });

  it('stops a never-ending source on abort without flushing open windows', async () => {
    const out = collect<Candle>();
    const ac = new AbortController();
    let n = 0;
    const endless: Source<Trade> = {
      name: 'endless',
      async *read(ctx) {
        while (!ctx.signal.aborted) {
          yield [t('A', n * 1_000, 1 + (n % 3))];
          n++;
          if (n === 150) ac.abort();
          await new Promise((r) => setImmediate(r));
        }
      },
    };
    const stats = await pipeline(endless).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(out).run({ signal: ac.signal });
    expect(stats.events).toBe(150);
    // Minutes 0 and 1 closed by the watermark; minute 2 is open and not emitted on abort.
    expect(out.values.map((c) => c.start)).toEqual([0, MIN]);
  });

  it('sends a value whose map callback throws to the dead letters and goes on', async () => {
    const out = collect<Candle>();
    const dead = collect<{ reason: string }>();
    await pipeline(fromArray([t('A', 0, 1), t('BAD', 1, 1), t('A', 2, 3)]))
      .pipe(
        map((x: Trade) => {
          if (x.symbol === 'BAD') throw new Error('cannot map BAD');
          return x;
        }),
        keyBy('symbol'),
        tumbling({ size: '1m' }, ohlcv()),
      )
      .deadLetters(dead)
      .to(out)
      .run();
    expect(dead.values).toEqual([expect.objectContaining({ reason: 'map threw: cannot map BAD', origin: 'map' })]);
    expect(out.values).toHaveLength(1);
    expect(out.values[0]!.trades).toBe(2);
  });

  it('rejects a run when the output throws, with a typed error', async () => {
    const job = pipeline(fromArray([t('A', 0, 1), t('A', 70_000, 1)])).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(() => {
      throw new Error('disk full');
    });
    await expect(job.run()).rejects.toMatchObject({ code: 'OUTPUT_FAILED', message: expect.stringContaining('disk full') });
  });

  it('update mode emits on every change and suppresses unchanged results', async () => {
    const { out } = await candles([t('A', 0, 10, 1), t('A', 1_000, 10, 0), t('A', 2_000, 11, 1), t('A', 61_000, 5, 1)], { size: '1m', emit: 'update' });
    // The zero-size print at the same price changes trades, so it is emitted; nothing else is unchanged here.
    expect(out.filter((c) => c.start === 0).map((c) => [c.rev, c.final, c.trades, c.close])).toEqual([
      [2, false, 1, 10],
      [4, false, 2, 10],
      [6, false, 3, 11],
      [7, true, 3, 11],
    ]);
  });

  it('update mode with a throttle emits at most once per window per interval', async () => {
    vi.useFakeTimers();
    const out = collect<Candle>();
    const job = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '1m', emit: { mode: 'update', throttle: '250ms' } }, ohlcv())).to(out);
    for (let i = 0; i < 100; i++) job.push(t('A', i * 10, 10 + i, 1));
    expect(out.values).toHaveLength(0);
    job.tick(Date.now());
    expect(out.values.map((c) => [c.trades, c.final])).toEqual([[100, false]]);
    job.tick(Date.now());
    expect(out.values).toHaveLength(1);
    job.push(t('A', 2_000, 1, 1));
    job.tick(Date.now());
    expect(out.values.map((c) => c.trades)).toEqual([100, 101]);
    await job.end();
    expect(out.values.at(-1)).toMatchObject({ trades: 101, final: true, rev: 203 });
  });

  it('live mode: the wall clock closes a quiet window without new trades', async () => {
    vi.useFakeTimers({ now: 10 * MIN + 5_000 });
    const out = collect<TickCount>();
    const job = pipeline<Trade>({ wallClockLag: '2s' }).pipe(keyBy('symbol'), tumbling({ size: '1m' }, tickCount())).to(out);
    job.push(t('QUIET', 10 * MIN + 1_000, 1));
    job.tick(Date.now());
    expect(out.values).toHaveLength(0);
    vi.setSystemTime(11 * MIN + 2_000);
    job.tick(Date.now());
    expect(out.values).toEqual([expect.objectContaining({ symbol: 'QUIET', start: 10 * MIN, trades: 1, final: true })]);
  });

  it('needs a keyed stream: at compile time, and a clear error at run time', () => {
    const op = tumbling({ size: '1m' }, ohlcv());
    // @ts-expect-error windowing operators only accept a keyed stream
    pipeline<Trade>().pipe(op);
    expect(() => pipeline<Trade>().pipe(op as never).to(() => {})).toThrow(/keyed stream.*keyBy/);
    expectTypeOf(pipeline<Trade>().pipe(keyBy('symbol'), op)).toEqualTypeOf<PipelineBuilder<Candle, Trade, Keyed<string, Trade>>>();
  });

  it('rejects bad options with a TickflowError naming the option', () => {
    expect(() => tumbling({ size: '5 minutes' as never }, ohlcv())).toThrow(TickflowError);
    expect(() => tumbling({ size: '5 minutes' as never }, ohlcv())).toThrow(/not a duration/);
    expect(() => tumbling({ size: ['1m', '90s'] }, ohlcv())).toThrow(/not a multiple of the smallest timeframe 1m/);
    expect(() => tumbling({ size: '1m', emit: 'sometimes' as never }, ohlcv())).toThrow(/emit/);
    expect(() => tumbling({ size: 0 }, ohlcv())).toThrow(/> 0/);
  });
});
