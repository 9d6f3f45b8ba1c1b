// The verdict of a fault test (server or library): every stored row of both
// stores against the oracle and against the uninterrupted run, raw trades
// exactly once, no late events, re-read per restart within its bound, offsets
// committed to the end; every number logged, every check a soft assertion so
// one run reports everything that is wrong.
import { expect } from 'vitest';
import type { Comparison, TradeCheck } from './comparison.js';
import { checkTrades, compareRuns, compareWithOracle, describeComparison } from './comparison.js';
import type { CrashRunReport } from './crashRun.js';
import type { Log } from './faultKit.js';
import type { TradeSet } from './generateTrades.js';
import { kcatReadTopic } from './kafkaTopic.js';
import type { Expected } from './oracle.js';
import { ambiguousWindowEnds, oracle } from './oracle.js';
import type { StoreSnapshot } from './storeSnapshot.js';

/**
 * Reads both topics back, computes the oracle from where each trade landed,
 * and checks the test's own data before anything else counts: every trade on
 * both topics once, in the partition its symbol hashes to, at the same offset
 * in both; nothing late, corrections and ties present, disorder below the
 * grace, no window ending inside the grace band at the end.
 */
export async function expectedFromTopics(o: { brokers: readonly string[]; refTopic: string; crashTopic: string; set: TradeSet; log: Log }): Promise<Expected> {
  const { set } = o;
  const [refTopic, crashTopic] = await Promise.all([kcatReadTopic(o.brokers, o.refTopic), kcatReadTopic(o.brokers, o.crashTopic)]);
  const expected = oracle(set, refTopic.placement);
  let misplaced = 0, offsetsDiffer = 0;
  for (const t of set.trades) {
    const a = refTopic.placement.get(t.id), b = crashTopic.placement.get(t.id);
    if (a === undefined || a.partition !== set.partitionOfSymbol.get(t.symbol)) misplaced++;
    if (b === undefined || a === undefined || a.partition !== b.partition || a.offset !== b.offset) offsetsDiffer++;
  }
  o.log.line(`data: ${expected.rows.size} expected window rows; max ts ${new Date(expected.maxTs).toISOString()}; in-partition corrections ${expected.stats.corrections}; open ties ${expected.stats.ties}; max disorder ${expected.stats.maxDisorderMs} ms; late ${expected.stats.late}`);
  expect(refTopic.count).toBe(set.trades.length);
  expect(crashTopic.count).toBe(set.trades.length);
  expect(refTopic.duplicates + crashTopic.duplicates + refTopic.undecodable + crashTopic.undecodable + refTopic.keyMismatch + crashTopic.keyMismatch).toBe(0);
  expect(misplaced).toBe(0);
  expect(offsetsDiffer).toBe(0);
  expect(expected.stats.late).toBe(0);
  expect(expected.stats.lateGlobal).toBe(0);
  expect(expected.stats.corrections).toBeGreaterThan(set.trades.length / 1000);
  expect(expected.stats.ties).toBeGreaterThan(0);
  expect(expected.stats.maxDisorderMs).toBeLessThan(6_000);
  expect(ambiguousWindowEnds(expected.maxTs)).toEqual([]);
  return expected;
}

/** What `settle` found at the end of a run. */
interface Settled {
  readonly quiet: boolean;
  readonly committedToEnd: boolean;
  readonly behindCommit: number;
  readonly late: number;
}

/** Everything a fault run produced, for `judgeFaultRun`. */
export interface FaultRun {
  /** 'server' or 'consumer': how the worker is named in messages. */
  readonly worker: string;
  readonly log: Log;
  readonly set: TradeSet;
  readonly expected: Expected;
  readonly stores: { readonly clickhouse: readonly [StoreSnapshot, StoreSnapshot]; readonly postgres: readonly [StoreSnapshot, StoreSnapshot] };
  readonly report: CrashRunReport;
  readonly refSettle: Settled;
  readonly crashSettle: Settled;
  /** Trades/s of the uninterrupted run. */
  readonly throughput: number;
  /** When each store outage began (ms from the crash run's start). */
  readonly outagesAt: readonly number[];
  readonly started: number;
  /** Extra lines to log per store (columns read, …). */
  readonly detail?: (store: string, ref: StoreSnapshot, crash: StoreSnapshot) => string[];
}

/** Compares, logs a summary line, and asserts (softly) every promise of the fault tests. */
export function judgeFaultRun(r: FaultRun): void {
  const { log, set, expected, report, refSettle, crashSettle, throughput } = r;
  const comparisons: Comparison[] = [];
  const tradeChecks: TradeCheck[] = [];
  for (const [store, [ref, crash]] of Object.entries(r.stores)) {
    for (const line of r.detail?.(store, ref, crash) ?? []) log.line(line);
    for (const kind of ['candles', 'profiles', 'ticks'] as const) {
      comparisons.push(compareWithOracle(`${store} ${kind} uninterrupted vs oracle`, kind, ref, expected));
      comparisons.push(compareWithOracle(`${store} ${kind} crash vs oracle`, kind, crash, expected));
      comparisons.push(compareRuns(`${store} ${kind} crash vs uninterrupted (every column)`, kind, ref, crash));
    }
    tradeChecks.push(checkTrades(`${store} trades uninterrupted`, ref, set), checkTrades(`${store} trades crash`, crash, set));
  }
  for (const c of comparisons) log.line(describeComparison(c));
  for (const t of tradeChecks) log.line(`${t.label}: ${t.expected} expected, ${t.missing} missing, ${t.doubled} doubled, ${t.differing} differing, ${t.unknown} unknown${t.examples.length > 0 ? ` e.g. ${t.examples.slice(0, 3).join('; ')}` : ''}`);

  // Re-read = what was read but not yet committed: about one commit interval plus the time to make
  // results durable. While a store is down nothing can be committed and the worker reads on until
  // the sinks' bounded buffers push back, so a kill during an outage (or just after) may re-read twice
  // that. The old behaviour re-read everything since the start of the largest window (the whole run).
  const bound = Math.min(Math.floor(0.2 * set.trades.length), throughput * 10);
  const outageBound = Math.min(Math.floor(0.4 * set.trades.length), throughput * 20);
  const nearOutage = (at: number): boolean => r.outagesAt.some((o) => at >= o && at <= o + 20_000);
  const boundFor = (at: number): number => (nearOutage(at) ? outageBound : bound);
  const reReads = report.kills.map((k) => k.reRead);
  for (const k of report.kills) log.line(`restart after kill at +${(k.at / 1000).toFixed(1)}s: produced ${k.produced}, behind commit ${k.behindCommit}, lag at kill ${k.lagAtKill}, re-read ${k.reRead} (bound ${boundFor(k.at)}); next process: ${k.failedStarts ?? 0} failed starts, caught up after ${k.catchUpMs ?? '?'} ms and ${k.catchUpEvents ?? '?'} events`);
  const rows = (label: string): number => comparisons.filter((c) => c.label.startsWith(label) && c.label.includes('crash vs uninterrupted')).reduce((a, c) => a + c.expected, 0);
  const bad = comparisons.filter((c) => c.missing + c.extra + c.differing > 0).length + tradeChecks.filter((t) => t.missing + t.doubled + t.differing + t.unknown > 0).length;
  log.line(
    `SUMMARY ${r.worker} faults: ${report.kills.length} ${r.worker} kills (+${report.unexpectedExits} unexpected exits), outages: ${report.outages.join(', ')}; rows compared crash vs uninterrupted: clickhouse ${rows('clickhouse')}, postgres ${rows('postgres')}; ` +
      `trades missing (crash) clickhouse ${tradeChecks[1]!.missing} postgres ${tradeChecks[3]!.missing}; late events: uninterrupted ${refSettle.late}, crash ${report.late + crashSettle.late}; ` +
      `re-read per restart ${reReads.join(', ')} (bound ${bound}, ${outageBound} near an outage); committed to the end: uninterrupted ${refSettle.committedToEnd} (${refSettle.behindCommit} behind), crash ${crashSettle.committedToEnd} (${crashSettle.behindCommit} behind); ` +
      `uninterrupted throughput ${throughput} trades/s; ${bad} failing comparisons; ${((Date.now() - r.started) / 1000).toFixed(0)} s`,
  );

  expect(report.kills.length).toBeGreaterThanOrEqual(4);
  expect(report.outages).toHaveLength(2);
  expect.soft(refSettle.quiet, 'the uninterrupted run settled').toBe(true);
  expect.soft(crashSettle.quiet, 'the crash run settled').toBe(true);
  expect.soft(report.unexpectedExits, `${r.worker} processes that died on their own`).toBe(0);
  for (const c of comparisons) expect.soft({ label: c.label, missing: c.missing, extra: c.extra, differing: c.differing }, describeComparison(c)).toEqual({ label: c.label, missing: 0, extra: 0, differing: 0 });
  for (const t of tradeChecks) expect.soft({ label: t.label, missing: t.missing, doubled: t.doubled, differing: t.differing, unknown: t.unknown }, t.examples.join('; ')).toEqual({ label: t.label, missing: 0, doubled: 0, differing: 0, unknown: 0 });
  expect.soft(refSettle.late + crashSettle.late + report.late, `late events counted by the ${r.worker}s`).toBe(0);
  const [refCh, crashCh] = r.stores.clickhouse;
  const [refPg, crashPg] = r.stores.postgres;
  expect.soft(refCh.duplicateKeys + refPg.duplicateKeys + crashCh.duplicateKeys + crashPg.duplicateKeys, 'window rows stored twice under one key').toBe(0);
  for (const k of report.kills) expect.soft(k.reRead, `re-read after the kill at +${(k.at / 1000).toFixed(1)}s (bound: ${nearOutage(k.at) ? `during or just after a store outage, min(40 % of ${set.trades.length}, 20 s × ${throughput}/s)` : `min(20 % of ${set.trades.length}, 10 s × ${throughput}/s)`})`).toBeLessThanOrEqual(boundFor(k.at));
  expect.soft(refSettle.committedToEnd, `uninterrupted run: committed offsets reach the end (${refSettle.behindCommit} behind)`).toBe(true);
  expect.soft(crashSettle.committedToEnd, `crash run: committed offsets reach the end (${crashSettle.behindCommit} behind)`).toBe(true);
}
