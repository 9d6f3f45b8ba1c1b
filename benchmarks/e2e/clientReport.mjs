// What one client process reports for one measurement phase, and the merge of
// several processes' reports into the benchmark's figures.
import { latencyStats, mergeSummaries } from './latencyHistogram.mjs';

/**
 * A fresh per-phase tally of a client process.
 * @param {string} phase
 */
export function emptyPhase(phase) {
  return {
    phase,
    seconds: 0,
    frames: 0,
    bytes: 0,
    /** Trade rows in `trades:` deltas (the latency samples). */
    tradeRows: 0,
    tickerRows: 0,
    candleRows: 0,
    /** Deltas whose `prev` was not the last applied `seq`: lost messages. */
    gaps: 0,
    /** Deltas spanning several seqs (the server conflated for a slow socket). */
    conflated: 0,
    errors: 0,
    closes: {},
    /** The client process's own event-loop delay (perf_hooks), ms. */
    loopDelayP99Ms: 0,
    loopDelayMaxMs: 0,
    /** CPU of the client process during the phase, in cores. */
    cpuCores: 0,
    latency: null,
  };
}

/**
 * Merges the reports of several client processes for the same phase: counts
 * add, seconds and loop delays take the max, the latency histograms merge.
 * @param {ReturnType<typeof emptyPhase>[]} reports
 */
export function mergeClientReports(reports) {
  if (reports.length === 0) throw new Error('mergeClientReports: no reports');
  const out = emptyPhase(reports[0].phase);
  for (const r of reports) {
    if (r.phase !== out.phase) throw new Error(`mergeClientReports: phases differ (${out.phase}, ${r.phase})`);
    for (const k of ['frames', 'bytes', 'tradeRows', 'tickerRows', 'candleRows', 'gaps', 'conflated', 'errors', 'cpuCores']) out[k] += r[k];
    for (const k of ['seconds', 'loopDelayP99Ms', 'loopDelayMaxMs']) out[k] = Math.max(out[k], r[k]);
    for (const [code, n] of Object.entries(r.closes)) out.closes[code] = (out.closes[code] ?? 0) + n;
  }
  out.latency = mergeSummaries(reports.map((r) => r.latency));
  return out;
}

/** The figures of a merged phase report (latency percentiles instead of the histogram). */
export function phaseFigures(merged) {
  const { latency, ...rest } = merged;
  return { ...rest, tradeRowsPerSecond: merged.seconds > 0 ? merged.tradeRows / merged.seconds : 0, framesPerSecond: merged.seconds > 0 ? merged.frames / merged.seconds : 0, latency: latencyStats(latency) };
}
