// The fault tests' comparisons: a store's window rows against the oracle
// (oracle.ts) or against another run's, raw trades against the generated ones,
// and a one-line report of each.
import { ulpDistance } from './exactArithmetic.js';
import type { TradeSet } from './generateTrades.js';
import type { Expected, ExpectedRow } from './oracle.js';
import type { StoreSnapshot } from './storeSnapshot.js';

/** Columns the comparisons leave out: a write time, which no two runs share. */
export const NOT_COMPARED = new Set(['written_at']);

/** Result of comparing one set of rows with another. */
export interface Comparison {
  readonly label: string;
  readonly expected: number;
  readonly stored: number;
  readonly missing: number;
  readonly extra: number;
  /** Rows with at least one differing field. */
  readonly differing: number;
  /** Differing rows per field. */
  readonly fields: Record<string, number>;
  /** Float fields that differed: rows, largest distance in ulps, rows within 1 ulp. */
  readonly ulps: Record<string, { rows: number; max: number; within1: number }>;
  /** Differences within TOLERANCE (not counted as differing): rows and largest ulps. */
  readonly tolerated: Record<string, { rows: number; max: number }>;
  readonly examples: string[];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/** Fields that are binary64 sums (or a quotient of sums): their differences are also measured in ulps. */
export const FLOAT_SUM_FIELDS = new Set(['volume', 'vwap', 'buyVolume', 'sellVolume', 'levelVolume', 'levelBuyVolume', 'levelSellVolume', 'valueAreaVolume']);

/**
 * Fields compared with a relative tolerance instead of exactly: the value
 * area's volume is a sum of level volumes that tickflow does not promise to
 * round correctly (only volume, buy/sell volume and the notional are); its
 * ulp differences are still reported (`tolerated`).
 */
export const TOLERANCE: Readonly<Record<string, number>> = { valueAreaVolume: 1e-12 };

function ulpsOf(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return ulpDistance(a, b);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const d = ulpsOf(a[i], b[i]);
      if (d === undefined) return undefined;
      if (d > m) m = d;
    }
    return m;
  }
  return undefined;
}

class Tally {
  missing = 0;
  extra = 0;
  differing = 0;
  expected = 0;
  stored = 0;
  fields: Record<string, number> = {};
  ulps: Record<string, { rows: number; max: number; within1: number }> = {};
  examples: string[] = [];

  tolerated: Record<string, { rows: number; max: number }> = {};

  /** `tolerant`: apply TOLERANCE (oracle comparisons); runs against each other compare every field exactly. */
  constructor(private readonly tolerant: boolean) {}

  /** Records a difference; false when it is within the field's tolerance (counted apart). */
  field(name: string, key: string, want: unknown, got: unknown): boolean {
    const tol = this.tolerant ? TOLERANCE[name] : undefined;
    if (tol !== undefined && typeof want === 'number' && typeof got === 'number' && Math.abs(want - got) <= tol * Math.abs(want)) {
      const u = (this.tolerated[name] ??= { rows: 0, max: 0 });
      u.rows++;
      u.max = Math.max(u.max, ulpDistance(want, got));
      return false;
    }
    this.fields[name] = (this.fields[name] ?? 0) + 1;
    const d = FLOAT_SUM_FIELDS.has(name) ? ulpsOf(want, got) : undefined;
    if (d !== undefined) {
      const u = (this.ulps[name] ??= { rows: 0, max: 0, within1: 0 });
      u.rows++;
      if (d > u.max) u.max = d;
      if (d <= 1) u.within1++;
    }
    if (this.examples.length < 8) this.examples.push(`${key} ${name}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}${d !== undefined ? ` (${d} ulp)` : ''}`);
    return true;
  }

  done(label: string): Comparison {
    return { label, expected: this.expected, stored: this.stored, missing: this.missing, extra: this.extra, differing: this.differing, fields: this.fields, ulps: this.ulps, tolerated: this.tolerated, examples: this.examples };
  }
}

/**
 * A store's window rows against the oracle: every data field (exact; float
 * differences also measured in ulps), `end`, and `final` = true for the
 * windows the watermark closed. `rev` must be a positive integer; its value
 * is compared between runs, not here. Open windows' `final` is reported by
 * the run comparison (it must match the uninterrupted run's).
 */
export function compareWithOracle(label: string, kind: ExpectedRow['kind'], stored: StoreSnapshot, expected: Expected): Comparison {
  const t = new Tally(true);
  for (const [key, want] of expected.rows) {
    if (want.kind !== kind) continue;
    t.expected++;
    const got = stored.windows.get(key);
    if (got === undefined) {
      t.missing++;
      if (t.examples.length < 8) t.examples.push(`${key}: missing`);
      continue;
    }
    let bad = false;
    const check = (name: string, w: unknown, g: unknown): void => {
      if (!sameValue(w, g) && t.field(name, key, w, g)) bad = true;
    };
    check('end', want.end, got.end);
    for (const [f, w] of Object.entries(want.fields)) check(f, w, got[f]);
    if (want.closed) check('final', true, got.final);
    if (!(typeof got.rev === 'number' && Number.isInteger(got.rev) && got.rev > 0)) check('rev>0', 'a positive integer', got.rev);
    if (bad) t.differing++;
  }
  for (const key of stored.windows.keys()) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.stored++;
    if (!expected.rows.has(key)) {
      t.extra++;
      if (t.examples.length < 8) t.examples.push(`${key}: not expected (no trade in that window)`);
    }
  }
  return t.done(label);
}

/** Two runs' window rows of one kind: every column (NOT_COMPARED aside), `rev` and `final` included. */
export function compareRuns(label: string, kind: ExpectedRow['kind'], ref: StoreSnapshot, run: StoreSnapshot): Comparison {
  const t = new Tally(false);
  for (const [key, want] of ref.windows) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.expected++;
    const got = run.windows.get(key);
    if (got === undefined) {
      t.missing++;
      if (t.examples.length < 8) t.examples.push(`${key}: missing`);
      continue;
    }
    let bad = false;
    for (const f of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (NOT_COMPARED.has(f) || f === 'writtenAt') continue;
      if (!sameValue(want[f], got[f]) && t.field(f, key, want[f], got[f])) bad = true;
    }
    if (bad) t.differing++;
  }
  for (const key of run.windows.keys()) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.stored++;
    if (!ref.windows.has(key)) {
      t.extra++;
      if (t.examples.length < 8) t.examples.push(`${key}: only in this run`);
    }
  }
  return t.done(label);
}

/** Raw trades of a store against the generated ones: each exactly once, every field equal. */
export interface TradeCheck {
  readonly label: string;
  readonly expected: number;
  readonly missing: number;
  readonly doubled: number;
  readonly differing: number;
  readonly unknown: number;
  readonly examples: string[];
}

export function checkTrades(label: string, snap: StoreSnapshot, set: TradeSet): TradeCheck {
  let missing = 0, doubled = 0, differing = 0;
  const examples: string[] = [];
  const ids = new Set<string>();
  for (const t of set.trades) {
    ids.add(t.id);
    const rows = snap.trades.get(t.id) ?? [];
    if (rows.length === 0) {
      missing++;
      if (examples.length < 6) examples.push(`${t.id} (${t.symbol} ${new Date(t.ts).toISOString()}): missing`);
      continue;
    }
    if (rows.length > 1) {
      doubled++;
      if (examples.length < 6) examples.push(`${t.id}: ${rows.length} rows`);
    }
    const r = rows[0]!;
    const want: Record<string, unknown> =
      snap.store === 'clickhouse'
        ? { symbol: t.symbol, ts: t.ts, key: t.id, id: t.id, price: t.price, size: t.size, side: t.side, bid: null, ask: null }
        : { time: t.ts, symbol: t.symbol, tradeKey: t.id, price: t.price, size: t.size, side: t.side, tradeId: t.id, bid: null, ask: null };
    const diff = Object.keys({ ...want, ...r }).filter((k) => !sameValue(want[k], r[k]));
    if (diff.length > 0) {
      differing++;
      if (examples.length < 6) examples.push(`${t.id}: ${diff.map((k) => `${k} want ${JSON.stringify(want[k])} got ${JSON.stringify(r[k])}`).join(', ')}`);
    }
  }
  let unknown = 0;
  for (const id of snap.trades.keys()) if (!ids.has(id)) unknown++;
  return { label, expected: set.trades.length, missing, doubled, differing, unknown, examples };
}

/** One line per comparison, for the log. */
export function describeComparison(c: Comparison): string {
  const ulps = Object.entries(c.ulps).map(([f, u]) => `${f}: ${u.rows} rows ≤${u.max} ulp (${u.within1} within 1)`);
  const fields = Object.entries(c.fields).map(([f, n]) => `${f}×${n}`);
  const tolerated = Object.entries(c.tolerated).map(([f, u]) => `${f}: ${u.rows} rows ≤${u.max} ulp within tolerance`);
  return `${c.label}: ${c.expected} expected, ${c.stored} stored, ${c.missing} missing, ${c.extra} extra, ${c.differing} differing${fields.length > 0 ? ` [${fields.join(' ')}]` : ''}${ulps.length > 0 ? ` {${ulps.join('; ')}}` : ''}${tolerated.length > 0 ? ` (${tolerated.join('; ')})` : ''}${c.examples.length > 0 ? `\n      e.g. ${c.examples.slice(0, 4).join('\n           ')}` : ''}`;
}
