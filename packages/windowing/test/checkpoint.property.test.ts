import { deserialize, serialize } from 'node:v8';
import type { Candle, Job, JobSnapshot, Trade, VolumeProfile } from '@tickflow/core';
import { TickflowError, collect, keyBy, pipeline, toTradeColumns } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hopping, ohlcv, tickCount, tumbling, volumeProfile } from '../src/index.js';

/** Just before a UTC midnight, so 1d windows of two days are open at once. */
const T0 = Date.UTC(2024, 0, 19, 23, 50, 0);
const SYMBOLS = ['AAPL', 'MSFT', 'BTC-USD', 'ETH-USD', 'TSLA'];
/** Symbol → input (a "partition"): every symbol on one input, as with a Kafka topic keyed by symbol. */
const inputOf = (symbol: string): number => SYMBOLS.indexOf(symbol) % 3;

/** Random trades over three inputs, disorder within an input up to `maxDelay`, ties and window edges common. */
function tradesArb(maxDelay: number): fc.Arbitrary<Trade[]> {
  const event = fc.record({
    symbol: fc.constantFrom(...SYMBOLS),
    gap: fc.integer({ min: 0, max: 12 }),
    cents: fc.integer({ min: 9_000, max: 11_000 }),
    size: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constant(0), fc.double({ min: 0.001, max: 10, noNaN: true })),
    side: fc.constantFrom<'buy' | 'sell' | undefined>('buy', 'sell', undefined),
    delay: fc.integer({ min: 0, max: maxDelay }),
  });
  return fc.array(event, { minLength: 1, maxLength: 300 }).map((evs) => {
    let ts = T0;
    const timed = evs.map((e, i) => {
      ts += e.gap * 5_000;
      const t: Trade = { symbol: e.symbol, ts, price: e.cents / 100, size: e.size };
      if (e.side !== undefined) t.side = e.side;
      return { t, arrival: ts + e.delay, i };
    });
    timed.sort((a, b) => a.arrival - b.arrival || a.i - b.i);
    return timed.map((x) => x.t);
  });
}

/**
 * Emissions grouped per window (timeframe, symbol, start), in emission order
 * within each window: the order across windows that fire at the same
 * watermark is not part of the contract (a restore recreates windows input
 * by input), the sequence of one window is.
 */
function perWindow(out: readonly unknown[]): [string, unknown[]][] {
  const m = new Map<string, unknown[]>();
  for (const o of out as { timeframe: string; symbol: string; start: number }[]) {
    const id = `${o.timeframe}|${o.symbol}|${o.start}`;
    const list = m.get(id) ?? [];
    list.push(o);
    m.set(id, list);
  }
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

type Build = () => { job: Job<Trade, unknown>; out: unknown[] };

function builder(kind: 'candles' | 'profile' | 'ticks' | 'hopping', emit: 'final' | 'update'): Build {
  return () => {
    const out = collect<unknown>();
    const base = pipeline<Trade>({ outOfOrderness: 10_000 }).pipe(keyBy('symbol'));
    const op =
      kind === 'candles'
        ? tumbling({ size: ['1m', '5m', '1h', '1d'], grace: '30s', emit }, ohlcv())
        : kind === 'profile'
          ? tumbling({ size: ['1m', '5m'], grace: '30s', emit }, volumeProfile({ step: 0.5 }))
          : kind === 'ticks'
            ? tumbling({ size: '1m', grace: '30s', emit }, tickCount())
            : hopping({ size: '3m', hop: '1m', grace: '30s', emit }, ohlcv());
    const job = base.pipe(op as never).to(out) as unknown as Job<Trade, unknown>;
    job.addInput();
    job.addInput();
    return { job, out: out.values };
  };
}

/** Pushes trades in per-input batches of up to `batch` events, as a consumer of three partitions would. */
function pushAll(job: Job<Trade, unknown>, trades: readonly Trade[], batch: number, columnar: boolean): void {
  for (let i = 0; i < trades.length; ) {
    const input = inputOf(trades[i]!.symbol);
    const chunk: Trade[] = [];
    while (i < trades.length && chunk.length < batch && inputOf(trades[i]!.symbol) === input) chunk.push(trades[i++]!);
    if (columnar) job.pushColumns(toTradeColumns(chunk), input);
    else job.pushBatch(chunk, input);
  }
}

/**
 * Runs `trades` through a job, cut at `cut`: the first job takes the prefix,
 * its state is snapshotted per input and passed through v8 serialization (as
 * a checkpoint store would), a second job restores it and takes the rest.
 */
async function runWithCheckpoint(build: Build, trades: readonly Trade[], cut: number, batch: number, columnar: boolean): Promise<unknown[]> {
  const first = build();
  pushAll(first.job, trades.slice(0, cut), batch, columnar);
  await first.job.flush();
  const snaps = [0, 1, 2].map((i) => deserialize(serialize(first.job.snapshot(i))) as JobSnapshot);
  const second = build();
  snaps.forEach((s, i) => second.job.restore(i, s));
  pushAll(second.job, trades.slice(cut), batch, columnar);
  await second.job.end();
  return [...first.out, ...second.out];
}

async function runStraight(build: Build, trades: readonly Trade[], batch: number): Promise<unknown[]> {
  const r = build();
  pushAll(r.job, trades, batch, false);
  await r.job.end();
  return r.out;
}

describe('checkpoints of window state (Job.snapshot / Job.restore)', () => {
  for (const kind of ['candles', 'profile', 'ticks', 'hopping'] as const) {
    for (const emit of ['final', 'update'] as const) {
      it(`${kind}, ${emit} mode: a run cut at any point and restored from a checkpoint emits exactly what an uninterrupted run emits`, async () => {
        await fc.assert(
          fc.asyncProperty(tradesArb(60_000), fc.nat(), fc.integer({ min: 1, max: 20 }), fc.boolean(), async (trades, c, batch, columnar) => {
            const cut = c % (trades.length + 1);
            const straight = await runStraight(builder(kind, emit), trades, batch);
            const restored = await runWithCheckpoint(builder(kind, emit), trades, cut, batch, columnar);
            expect(perWindow(restored)).toEqual(perWindow(straight));
          }),
          { numRuns: 60 },
        );
      });
    }
  }

  it('restores several checkpoints in a row (a process that crashes again and again)', async () => {
    await fc.assert(
      fc.asyncProperty(tradesArb(30_000), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), async (trades, cuts) => {
        const build = builder('candles', 'final');
        const straight = await runStraight(build, trades, 5);
        const points = [...new Set(cuts.map((c) => c % (trades.length + 1)))].sort((a, b) => a - b);
        let r = build();
        const out: unknown[] = [];
        let at = 0;
        for (const p of points) {
          pushAll(r.job, trades.slice(at, p), 5, false);
          at = p;
          await r.job.flush();
          out.push(...r.out);
          const snaps = [0, 1, 2].map((i) => deserialize(serialize(r.job.snapshot(i))) as JobSnapshot);
          r = build();
          snaps.forEach((s, i) => r.job.restore(i, s));
        }
        pushAll(r.job, trades.slice(at), 5, false);
        await r.job.end();
        out.push(...r.out);
        expect(perWindow(out)).toEqual(perWindow(straight));
      }),
      { numRuns: 60 },
    );
  });

  it('a checkpoint holds only the keys of its input, and restoring a subset of inputs (a rebalance) keeps those keys exact', async () => {
    const trades: Trade[] = [];
    for (let i = 0; i < 400; i++) trades.push({ symbol: SYMBOLS[i % SYMBOLS.length]!, ts: T0 + i * 1_000, price: 100 + (i % 13) / 4, size: 1 + (i % 5), side: i % 2 === 0 ? 'buy' : 'sell' });
    const build = builder('candles', 'final');
    const first = build();
    pushAll(first.job, trades.slice(0, 200), 10, false);
    await first.job.flush();
    const snap1 = first.job.snapshot(1);
    const keysOf = (s: JobSnapshot) => (s.stages.find((x) => x !== undefined) as { keys: string[] }).keys;
    expect(keysOf(snap1).sort()).toEqual(SYMBOLS.filter((s) => inputOf(s) === 1).sort());
    // A new owner of input 1 only: restore it as its input 0.
    const out = collect<Candle>();
    const owner = pipeline<Trade>({ outOfOrderness: 10_000 }).pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m', '1h', '1d'], grace: '30s' }, ohlcv())).to(out);
    owner.restore(0, deserialize(serialize(snap1)) as JobSnapshot);
    owner.pushBatch(trades.slice(200).filter((t) => inputOf(t.symbol) === 1), 0);
    await owner.end();
    const straight = (await runStraight(build, trades, 10)) as Candle[];
    const ofInput1 = (cs: readonly Candle[]) => cs.filter((c) => inputOf(c.symbol) === 1);
    // Everything input 1's keys emitted after the cut equals the uninterrupted run's.
    const before = new Set((first.out as Candle[]).map((c) => JSON.stringify(c)));
    expect(perWindow(ofInput1(out.values))).toEqual(perWindow(ofInput1(straight).filter((c) => !before.has(JSON.stringify(c)))));
  });

  it('refuses a key whose events came on two inputs, and a checkpoint of other windows, with CHECKPOINT_FAILED', () => {
    const j = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(() => {});
    j.addInput();
    j.push({ symbol: 'A', ts: 1_000, price: 1, size: 1 }, 0);
    j.push({ symbol: 'A', ts: 2_000, price: 1, size: 1 }, 1);
    expect(() => j.snapshot(0)).toThrow(TickflowError);
    expect(() => j.snapshot(0)).toThrow(/several inputs/);
    const k = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(() => {});
    k.push({ symbol: 'B', ts: 1_000, price: 1, size: 1 });
    const snap = k.snapshot(0);
    const other = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '5m' }, ohlcv())).to(() => {});
    expect(() => other.restore(0, snap)).toThrow(/other windows/);
    const profile = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '1m' }, volumeProfile({ step: 1 }))).to(() => {});
    expect(() => profile.restore(0, { ...snap, stages: [] })).toThrow(/does not fit/);
  });

  it('round-trips volume profile levels exactly, compensation terms included', async () => {
    const trades: Trade[] = [];
    for (let i = 0; i < 50; i++) trades.push({ symbol: 'AAPL', ts: T0 + i * 100, price: 100 + (i % 7) * 0.1, size: 0.1 + i * 1e-9, side: i % 3 === 0 ? 'sell' : 'buy' });
    const build = builder('profile', 'final');
    const straight = (await runStraight(build, trades, 3)) as VolumeProfile[];
    const restored = (await runWithCheckpoint(build, trades, 25, 3, false)) as VolumeProfile[];
    expect(perWindow(restored)).toEqual(perWindow(straight));
  });
});
