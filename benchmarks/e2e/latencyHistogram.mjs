// Latency histogram of the e2e benchmark: 1 ms buckets, exact for the
// integer-millisecond latencies it records (receipt Date.now() − trade.ts,
// both whole milliseconds of the same clock). Bounded memory (maxMs + 1
// counters); values above maxMs are counted as overflow with the exact max
// kept. Summaries are sparse ([ms, count] pairs) so they cross IPC cheaply,
// and summaries of several client processes merge into one.

/** Default upper bound of the buckets: 2 minutes. */
export const DEFAULT_MAX_MS = 120_000;

/** Integer-millisecond latency histogram. */
export class LatencyHistogram {
  /** @param {number} [maxMs] largest latency with its own bucket */
  constructor(maxMs = DEFAULT_MAX_MS) {
    if (!Number.isInteger(maxMs) || maxMs < 1) throw new RangeError(`maxMs must be a positive integer, got ${maxMs}`);
    this.maxMs = maxMs;
    this.counts = new Uint32Array(maxMs + 1);
    this.reset();
  }

  /** Forgets every recorded value. */
  reset() {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.overflow = 0;
    this.negative = 0;
  }

  /**
   * Records one latency in ms (rounded to a whole ms). A negative value (the
   * clock stepped back) is counted apart and recorded as 0.
   * @param {number} ms
   */
  record(ms) {
    let v = Math.round(ms);
    if (v < 0) {
      this.negative++;
      v = 0;
    }
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v > this.maxMs) this.overflow++;
    else this.counts[v]++;
  }

  /** A sparse, JSON/IPC-safe summary: `{ count, sum, min, max, overflow, negative, buckets: [[ms, n], …] }` ascending. */
  summary() {
    const buckets = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) buckets.push([i, this.counts[i]]);
    return { count: this.count, sum: this.sum, min: this.count > 0 ? this.min : null, max: this.count > 0 ? this.max : null, overflow: this.overflow, negative: this.negative, buckets };
  }
}

/** An empty summary (the identity of `mergeSummaries`). */
export function emptySummary() {
  return { count: 0, sum: 0, min: null, max: null, overflow: 0, negative: 0, buckets: [] };
}

/**
 * Merges histogram summaries (e.g. one per client process) into one.
 * @param {ReturnType<LatencyHistogram['summary']>[]} summaries
 */
export function mergeSummaries(summaries) {
  const byMs = new Map();
  const out = emptySummary();
  for (const s of summaries) {
    out.count += s.count;
    out.sum += s.sum;
    out.overflow += s.overflow;
    out.negative += s.negative;
    if (s.min !== null) out.min = out.min === null ? s.min : Math.min(out.min, s.min);
    if (s.max !== null) out.max = out.max === null ? s.max : Math.max(out.max, s.max);
    for (const [ms, n] of s.buckets) byMs.set(ms, (byMs.get(ms) ?? 0) + n);
  }
  out.buckets = [...byMs].sort((a, b) => a[0] - b[0]);
  return out;
}

/**
 * Nearest-rank percentile of a summary: the smallest recorded value v such
 * that at least ⌈p·count⌉ values are ≤ v (p in (0, 1]; p = 1 is the max).
 * Exact for whole-ms values up to maxMs; a rank in the overflow answers the max.
 * Returns null for an empty summary.
 * @param {ReturnType<LatencyHistogram['summary']>} summary
 * @param {number} p
 */
export function percentile(summary, p) {
  if (!(p > 0 && p <= 1)) throw new RangeError(`p must be in (0, 1], got ${p}`);
  if (summary.count === 0) return null;
  const rank = Math.max(1, Math.ceil(p * summary.count));
  let acc = 0;
  for (const [ms, n] of summary.buckets) {
    acc += n;
    if (acc >= rank) return ms;
  }
  return summary.max;
}

/** p50/p90/p99/p99.9/max and the mean of a summary, in ms (nulls when empty). */
export function latencyStats(summary) {
  return {
    samples: summary.count,
    meanMs: summary.count > 0 ? summary.sum / summary.count : null,
    p50Ms: percentile(summary, 0.5),
    p90Ms: percentile(summary, 0.9),
    p99Ms: percentile(summary, 0.99),
    p999Ms: percentile(summary, 0.999),
    maxMs: summary.max,
    overflow: summary.overflow,
    negative: summary.negative,
  };
}
