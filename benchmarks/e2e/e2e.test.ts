import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { LatencyHistogram, mergeSummaries, percentile, latencyStats } from './latencyHistogram.mjs';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { emptyPhase, mergeClientReports, phaseFigures } from './clientReport.mjs';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { CLK_TCK, parseProcStat, cpuBetween } from './procStats.mjs';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { parseMetrics } from './scenarioProcesses.mjs';

type Summary = { count: number; sum: number; min: number | null; max: number | null; overflow: number; negative: number; buckets: [number, number][] };
type Hist = { record(ms: number): void; summary(): Summary; reset(): void };
const newHist = (maxMs?: number): Hist => new (LatencyHistogram as new (m?: number) => Hist)(maxMs);
const pct = percentile as (s: Summary, p: number) => number | null;
const merge = mergeSummaries as (s: Summary[]) => Summary;

/** Nearest-rank percentile by sorting: the smallest value with at least ⌈p·n⌉ values ≤ it. */
function bruteForce(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}

const PS = [0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1];

describe('e2e latency histogram', () => {
  it('gives the same percentiles as sorting the whole-ms latencies', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 2_000 }), (values) => {
        const h = newHist(10_000);
        for (const v of values) h.record(v);
        const s = h.summary();
        expect(s.count).toBe(values.length);
        expect(s.max).toBe(Math.max(...values));
        expect(s.min).toBe(Math.min(...values));
        for (const p of PS) expect(pct(s, p)).toBe(bruteForce(values, p));
      }),
      { numRuns: 200 },
    );
  });

  it('merging the summaries of several processes equals one histogram of every value', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 500 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const all = parts.flat();
        const merged = merge(
          parts.map((vs) => {
            const h = newHist(5_000);
            for (const v of vs) h.record(v);
            return h.summary();
          }),
        );
        const whole = newHist(5_000);
        for (const v of all) whole.record(v);
        expect(merged).toEqual(whole.summary());
        if (all.length > 0) for (const p of PS) expect(pct(merged, p)).toBe(bruteForce(all, p));
        else expect(pct(merged, 0.5)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('counts values above its range as overflow and answers the exact max for ranks there', () => {
    const h = newHist(100);
    for (const v of [5, 7, 250, 1_000]) h.record(v);
    const s = h.summary();
    expect(s.overflow).toBe(2);
    expect(pct(s, 0.5)).toBe(7);
    expect(pct(s, 1)).toBe(1_000);
    expect(pct(s, 0.75)).toBe(1_000);
  });

  it('records a negative latency (clock stepped back) as 0 and counts it', () => {
    const h = newHist(100);
    h.record(-3);
    h.record(2.4);
    const s = h.summary();
    expect(s.negative).toBe(1);
    expect(s.buckets).toEqual([
      [0, 1],
      [2, 1],
    ]);
    expect((latencyStats as (s: Summary) => { meanMs: number })(s).meanMs).toBe(1);
  });
});

describe('e2e client report merge', () => {
  it('adds counts, keeps the longest phase and the worst loop delay, merges latencies', () => {
    const a = { ...emptyPhase('ws'), seconds: 20, frames: 100, tradeRows: 3, gaps: 1, cpuCores: 0.5, loopDelayP99Ms: 4, closes: { 1006: 1 } };
    const b = { ...emptyPhase('ws'), seconds: 20.5, frames: 50, tradeRows: 2, gaps: 0, cpuCores: 0.25, loopDelayP99Ms: 9, closes: { 1006: 2, 4000: 1 } };
    const ha = newHist(1_000);
    for (const v of [10, 20, 30]) ha.record(v);
    const hb = newHist(1_000);
    for (const v of [5, 40]) hb.record(v);
    a.latency = ha.summary();
    b.latency = hb.summary();
    const m = mergeClientReports([a, b]);
    expect(m).toMatchObject({ phase: 'ws', seconds: 20.5, frames: 150, tradeRows: 5, gaps: 1, cpuCores: 0.75, loopDelayP99Ms: 9, closes: { 1006: 3, 4000: 1 } });
    expect(m.latency.count).toBe(5);
    const f = phaseFigures(m);
    expect(f.latency).toMatchObject({ samples: 5, p50Ms: 20, maxMs: 40, meanMs: 21 });
    expect(f.tradeRowsPerSecond).toBeCloseTo(5 / 20.5);
    expect(() => mergeClientReports([a, { ...b, phase: 'rest-cached' }])).toThrow(/phases differ/);
  });
});

describe('e2e /proc and /metrics parsing', () => {
  it('reads ppid and utime+stime from a stat line whose command has spaces and parentheses', () => {
    const line = '4242 (node (worker) x) S 4200 4242 4200 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 11 0 500 1000000 5000 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 4242, comm: 'node (worker) x', ppid: 4200, ticks: 1290 });
  });

  it('attributes CPU to named processes with their descendants, the rest of the tree and the rest of the machine', () => {
    const procs = (t: Record<number, [number, number]>) => new Map(Object.entries(t).map(([pid, [ppid, ticks]]) => [Number(pid), { pid: Number(pid), comm: 'x', ppid, ticks }]));
    // root 1 → server 2 (→ 3), clients 4, a service 5 (→ 6); 9 is another user's process.
    const a = { at: 0, machine: { busy: 0, total: 0 }, procs: procs({ 1: [0, 0], 2: [1, 0], 3: [2, 0], 4: [1, 0], 5: [1, 0], 6: [5, 0], 9: [0, 0] }) };
    const b = { at: 10_000, machine: { busy: 1_700, total: 2_000 }, procs: procs({ 1: [0, 100], 2: [1, 500], 3: [2, 100], 4: [1, 300], 5: [1, 50], 6: [5, 150], 9: [0, 500] }) };
    const cpu = (cpuBetween as (a: unknown, b: unknown, named: Record<string, number | number[]>, root: number) => Record<string, number>)(a, b, { server: 2, clients: [4] }, 1);
    const cores = (ticks: number) => ticks / (CLK_TCK as number) / 10;
    expect(cpu.server).toBeCloseTo(cores(600));
    expect(cpu.clients).toBeCloseTo(cores(300));
    expect(cpu.benchmark).toBeCloseTo(cores(100));
    expect(cpu.services).toBeCloseTo(cores(200));
    expect(cpu.machine).toBeCloseTo(cores(1_700));
    expect(cpu.elsewhere).toBeCloseTo(cores(1_700 - 1_200));
    expect(cpu.cores).toBe(Math.round(cores(2_000)));
  });

  it('sums the series of each Prometheus metric', () => {
    const text = '# HELP a x\n# TYPE a counter\ntickflow_trades_ingested_total 1200\ntickflow_sink_rows_written_total{store="clickhouse",table="trades"} 10\ntickflow_sink_rows_written_total{store="postgres",table="trades"} 5\nbad line\n';
    expect(parseMetrics(text)).toEqual({ tickflow_trades_ingested_total: 1200, tickflow_sink_rows_written_total: 15 });
  });
});

describe('e2e trade walk', () => {
  it('gives the same trades for the same seed, one symbol of the list each, sizes 1–100, prices moving by at most 0.10', async () => {
    // @ts-expect-error plain .mjs benchmark modules have no type declarations
    const { symbolNames, tradeWalk } = (await import('./tradeWalk.mjs')) as { symbolNames: (n: number) => string[]; tradeWalk: (s: string[], seed?: number) => () => { symbol: string; price: number; size: number; side: string } };
    const symbols = symbolNames(5);
    expect(symbols).toEqual(['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004', 'SYM0005']);
    const a = tradeWalk(symbols);
    const b = tradeWalk(symbols);
    const last = new Map(symbols.map((s, i) => [s, 50 + i]));
    for (let i = 0; i < 5_000; i++) {
      const t = a();
      expect(b()).toEqual(t);
      expect(symbols).toContain(t.symbol);
      expect(t.size).toBeGreaterThanOrEqual(1);
      expect(t.size).toBeLessThanOrEqual(100);
      expect(['buy', 'sell']).toContain(t.side);
      expect(Math.abs(t.price - last.get(t.symbol)!)).toBeLessThanOrEqual(0.1 + 1e-9);
      last.set(t.symbol, t.price);
    }
    expect(tradeWalk(symbols, 1)()).not.toEqual(tradeWalk(symbols)());
  });
});
