import { ROW_KEY } from '../protocol.js';
import type { ChannelKind, DeltaMessage, ParsedChannel } from '../protocol.js';
import { Outgoing } from './wireCodec.js';

/** A row as the server stores it: a flat record (levels of a profile are one array field). */
export type Row = Record<string, unknown>;

/** Deep equality for the values rows hold: primitives, arrays and plain objects (profile levels). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a !== a && b !== b; // NaN
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Row;
  const rb = b as Row;
  let n = 0;
  for (const k in ra) {
    if (!sameValue(ra[k], rb[k])) return false;
    n++;
  }
  for (const _k in rb) n--;
  return n === 0;
}

function compareKeys(a: unknown, b: unknown): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * Rows of a keyed channel ascending by key (start or symbol), copied so a
 * snapshot message never changes after it is built.
 */
function sortedCopies(rows: Map<unknown, Row>, keyField: string): Row[] {
  const out: Row[] = [];
  for (const r of rows.values()) out.push({ ...r });
  out.sort((x, y) => compareKeys(x[keyField], y[keyField]));
  return out;
}

/**
 * The server-side state of one channel: its rows (a bounded list of recent
 * trades, or rows keyed by `start` / `symbol`), its sequence number, and the
 * changes made since the last flush, which `takeDelta` turns into one delta.
 * Subscribers are tracked here so fan-out is a loop over a Set.
 */
export class ChannelState<Sub> {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly keyField: 'symbol' | 'start' | undefined;
  /** How many rows are kept: the newest trades, or the largest keys. */
  readonly limit: number;
  seq = 0;
  dirty = false;
  readonly subscribers = new Set<Sub>();
  private list: Row[] = [];
  private readonly keyed = new Map<unknown, Row>();
  private pendingList: Row[] = [];
  private pendingKeyed = new Map<unknown, Row>();
  private snapshotCache: Outgoing | undefined;

  constructor(channel: ParsedChannel, limit: number) {
    this.name = channel.name;
    this.kind = channel.kind;
    this.keyField = channel.kind === 'trades' ? undefined : ROW_KEY[channel.kind];
    this.limit = limit;
  }

  /** Number of rows held. */
  get size(): number {
    return this.keyField === undefined ? Math.min(this.list.length, this.limit) : this.keyed.size;
  }

  /** Appends an item to a list channel (trades). */
  append(item: Row): void {
    const limit = this.limit;
    if (limit > 0) {
      this.list.push(item);
      if (this.list.length >= 2 * limit + 16) this.list = this.list.slice(-limit);
    }
    this.pendingList.push(item);
    if (this.pendingList.length >= 2 * limit + 16) this.pendingList = this.pendingList.slice(-Math.max(limit, 1));
    this.dirty = true;
  }

  /**
   * Upserts a row of a keyed channel; records only the fields that changed.
   * A row with a lower `rev` (windows) or an older `ts` (quotes) than the
   * stored one is stale and ignored. Returns whether anything changed.
   */
  upsert(row: Row): boolean {
    const keyField = this.keyField!;
    const key = row[keyField];
    const cur = this.keyed.get(key);
    if (cur === undefined) {
      const stored: Row = {};
      const pending: Row = {};
      for (const f in row) {
        const v = row[f];
        if (v === undefined) continue;
        stored[f] = v;
        pending[f] = v;
      }
      this.keyed.set(key, stored);
      this.pendingKeyed.set(key, pending);
      if (this.keyed.size > this.limit) this.evictSmallest();
      this.dirty = true;
      return true;
    }
    if (typeof row.rev === 'number' && typeof cur.rev === 'number' && row.rev < cur.rev) return false;
    if (this.kind === 'quotes' && typeof row.ts === 'number' && typeof cur.ts === 'number' && row.ts < cur.ts) return false;
    let pending = this.pendingKeyed.get(key);
    let changed = false;
    for (const f in row) {
      const v = row[f];
      if (v === undefined || sameValue(cur[f], v)) continue;
      cur[f] = v;
      if (pending === undefined) {
        pending = { [keyField]: key };
        this.pendingKeyed.set(key, pending);
      }
      pending[f] = v;
      changed = true;
    }
    if (changed) this.dirty = true;
    return changed;
  }

  /** The current row for `key` (keyed channels). */
  get(key: unknown): Row | undefined {
    return this.keyed.get(key);
  }

  private evictSmallest(): void {
    let min: unknown;
    let first = true;
    for (const k of this.keyed.keys()) {
      if (first || compareKeys(k, min) < 0) min = k;
      first = false;
    }
    this.keyed.delete(min);
  }

  /** Turns the changes since the last call into one delta (sequence + 1), or undefined when nothing changed. */
  takeDelta(): DeltaMessage | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    let rows: Row[];
    if (this.keyField === undefined) {
      rows = this.limit > 0 && this.pendingList.length > this.limit ? this.pendingList.slice(-this.limit) : this.pendingList;
      this.pendingList = [];
    } else {
      rows = [];
      for (const r of this.pendingKeyed.values()) rows.push(r);
      this.pendingKeyed = new Map();
    }
    this.seq++;
    this.snapshotCache = undefined;
    return { type: 'delta', channel: this.name, seq: this.seq, prev: this.seq - 1, rows };
  }

  /** The snapshot at the current sequence number (built once per sequence number, shared by every subscriber). */
  snapshot(): Outgoing {
    if (this.snapshotCache !== undefined) return this.snapshotCache;
    const rows = this.keyField === undefined ? (this.limit > 0 ? this.list.slice(-this.limit) : []) : sortedCopies(this.keyed, this.keyField);
    this.snapshotCache = new Outgoing({ type: 'snapshot', channel: this.name, seq: this.seq, rows, limit: this.limit });
    return this.snapshotCache;
  }
}
