import { TradeRing } from '@tickflow/core';
import type { Trade } from '@tickflow/core';
import { ROW_KEY } from '../protocol.js';
import type { ChannelKind, DeltaMessage, ParsedChannel, RowKeyField, SnapshotMessage, StreamPosition } from '../protocol.js';
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

/** Rows of a private channel, oldest first (copied like sortedCopies). */
function copies(rows: Map<unknown, Row>): Row[] {
  const out: Row[] = [];
  for (const r of rows.values()) out.push({ ...r });
  return out;
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

/** The recovery history a list channel keeps for reconnecting clients. */
export interface RecoveryHistory {
  /** Items kept (0: no recovery, every reconnect gets a snapshot). */
  readonly size: number;
  /** Items older than this (ms) are not recovered. */
  readonly maxAge: number;
}

const NO_HISTORY: RecoveryHistory = { size: 0, maxAge: 0 };

/** A new epoch: distinct across restarts and across channels created again after being dropped. */
function newEpoch(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The server-side state of one channel: its rows (a bounded list of recent
 * trades, or rows keyed by `start` / `symbol` / `id`), its sequence number,
 * and the changes made since the last flush, which `takeDelta` turns into
 * one delta. List channels number their items (`offset`) within an `epoch`
 * and keep a bounded, time-stamped history from which a reconnecting client
 * gets exactly what it missed (`recover`). Subscribers are tracked here so
 * fan-out is a loop over a Set.
 */
export class ChannelState<Sub> {
  /** The name on the wire. */
  readonly name: string;
  /** The registry key: the name, or for a private channel the name and its owner. */
  readonly key: string;
  readonly kind: ChannelKind;
  readonly keyField: RowKeyField | undefined;
  /** How many rows are kept: the newest trades, the largest keys, or (private channels) the newest rows. */
  readonly limit: number;
  /** List channels: changes whenever the history is lost (a new ChannelState). */
  readonly epoch: string;
  /** List channels: the offset of the last item appended (the first item is 1). */
  offset = 0;
  seq = 0;
  dirty = false;
  readonly subscribers = new Set<Sub>();
  /**
   * List channels: the newest `keep` trades as columns (TradeRing: held as
   * objects for seconds they all reached V8's old generation, the largest
   * GC cost of a busy server); the oldest has offset `listStart`. Undefined
   * when nothing is kept.
   */
  private readonly ring: TradeRing | undefined;
  /**
   * When items were appended, one mark per distinct append time (a publish
   * batch): the items from `markOffsets[i]` on were appended at `markTimes[i]`.
   * Cheaper than a time per item; as exact.
   */
  private markOffsets: number[] = [];
  private markTimes: number[] = [];
  private lastMark = Number.NaN;
  /** Items a list channel keeps: the snapshot's `limit` or the recovery history's size, whichever is larger. */
  private readonly keep: number;
  private readonly history: RecoveryHistory;
  private readonly keyed = new Map<unknown, Row>();
  private pendingList: Row[] = [];
  private pendingKeyed = new Map<unknown, Row>();
  private snapshotCache: Outgoing | undefined;

  constructor(channel: ParsedChannel, limit: number, history: RecoveryHistory = NO_HISTORY, key: string = channel.name) {
    this.name = channel.name;
    this.key = key;
    this.kind = channel.kind;
    this.keyField = channel.kind === 'trades' ? undefined : ROW_KEY[channel.kind];
    this.limit = limit;
    this.history = history;
    this.keep = Math.max(limit, history.size);
    this.epoch = channel.kind === 'trades' ? newEpoch() : '';
    this.ring = channel.kind === 'trades' && this.keep > 0 ? new TradeRing(channel.symbol ?? '', this.keep) : undefined;
  }

  /** Offset of the oldest item the ring holds (offset + 1 when it holds none). */
  private get listStart(): number {
    return this.offset - (this.ring?.length ?? 0) + 1;
  }

  /** The held items from index `first` (0 = oldest) to the newest, as rows. */
  private rowsFrom(first: number): Row[] {
    const ring = this.ring;
    if (ring === undefined) return [];
    const out: Row[] = [];
    for (let i = Math.max(0, first); i < ring.length; i++) out.push(ring.at(i) as unknown as Row);
    return out;
  }

  /** Number of rows held (what a snapshot sends). */
  get size(): number {
    return this.keyField === undefined ? Math.min(this.ring?.length ?? 0, this.limit) : this.keyed.size;
  }

  /** Appends an item to a list channel (trades), stamped `now` for the recovery history. */
  append(item: Row, now: number): void {
    const keep = this.keep;
    this.offset++;
    const ring = this.ring;
    if (ring !== undefined) {
      ring.push(item as unknown as Trade);
      if (now !== this.lastMark) {
        this.lastMark = now;
        this.markOffsets.push(this.offset);
        this.markTimes.push(now);
        if (this.markOffsets.length >= 2 * keep + 16) {
          // Keep the mark that covers the oldest held item, and those after it.
          const m = this.markAt(this.listStart);
          if (m > 0) {
            this.markOffsets = this.markOffsets.slice(m);
            this.markTimes = this.markTimes.slice(m);
          }
        }
      }
    }
    this.pendingList.push(item);
    // Bounded between flushes; past the bound the delta's offset jumps and clients see the skip.
    if (this.pendingList.length >= 2 * keep + 16) this.pendingList = this.pendingList.slice(-Math.max(keep, 1));
    this.dirty = true;
  }

  /**
   * The items after `from` (a client's last position) when the history still
   * holds all of them, as a snapshot message with `recovered: true`; undefined
   * when it cannot (another epoch, a gap older than `maxAge` or longer than
   * the history). Call after takeDelta (the items are then all sent as deltas).
   */
  recover(from: StreamPosition, now: number): Outgoing | undefined {
    if (this.keyField !== undefined || from.epoch !== this.epoch || from.offset > this.offset || from.offset < 0) return undefined;
    const missed = this.offset - from.offset;
    if (missed > this.history.size) return undefined;
    const first = from.offset + 1 - this.listStart;
    if (first < 0) return undefined;
    if (missed > 0 && this.markTimes[this.markAt(from.offset + 1)]! < now - this.history.maxAge) return undefined;
    const msg: SnapshotMessage = { type: 'snapshot', channel: this.name, seq: this.seq, rows: this.rowsFrom(first), limit: this.limit, epoch: this.epoch, offset: this.offset, recovered: true };
    return new Outgoing(msg);
  }

  /** Index of the mark covering the item at `offset` (the last mark at or before it). */
  private markAt(offset: number): number {
    const marks = this.markOffsets;
    let lo = 0;
    let hi = marks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (marks[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A full snapshot flagged `recovered: false` (recovery was asked for and failed). */
  failedRecovery(): Outgoing {
    const snap = this.snapshot().msg as SnapshotMessage;
    return new Outgoing({ ...snap, recovered: false });
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
      if (this.keyed.size > this.limit) this.evict();
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

  /** Drops the row with the smallest key; in a private channel the oldest row (ids are not ordered). */
  private evict(): void {
    if (this.kind === 'user') {
      for (const k of this.keyed.keys()) {
        this.keyed.delete(k);
        return;
      }
    }
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
    this.seq++;
    this.snapshotCache = undefined;
    if (this.keyField === undefined) {
      const rows = this.pendingList;
      this.pendingList = [];
      return { type: 'delta', channel: this.name, seq: this.seq, prev: this.seq - 1, rows, offset: this.offset };
    }
    const rows: Row[] = [];
    for (const r of this.pendingKeyed.values()) rows.push(r);
    this.pendingKeyed = new Map();
    return { type: 'delta', channel: this.name, seq: this.seq, prev: this.seq - 1, rows };
  }

  /** The snapshot at the current sequence number (built once per sequence number, shared by every subscriber). */
  snapshot(): Outgoing {
    if (this.snapshotCache !== undefined) return this.snapshotCache;
    const msg: SnapshotMessage =
      this.keyField === undefined
        ? { type: 'snapshot', channel: this.name, seq: this.seq, rows: this.limit > 0 ? this.rowsFrom((this.ring?.length ?? 0) - this.limit) : [], limit: this.limit, epoch: this.epoch, offset: this.offset }
        : { type: 'snapshot', channel: this.name, seq: this.seq, rows: this.kind === 'user' ? copies(this.keyed) : sortedCopies(this.keyed, this.keyField), limit: this.limit };
    this.snapshotCache = new Outgoing(msg);
    return this.snapshotCache;
  }
}
