import { ROW_KEY } from '../protocol.js';
import type { ChannelKind, DeltaMessage, RowKeyField, SnapshotMessage, StreamPosition } from '../protocol.js';

type Row = Record<string, unknown>;

/** What happened to a channel's local state since the last batch. */
export interface ChannelChanges<R> {
  /** True when a snapshot replaced the state (first subscribe, resync, reconnect). */
  readonly reset: boolean;
  /** List channels: the items appended. Keyed channels: the rows that changed, as they are now. */
  readonly changed: readonly R[];
  /**
   * After a reconnect of a list channel: true when the missed items were
   * recovered (they are in `changed`, `reset` is false), false when recovery
   * failed and a snapshot replaced the state (`reset` is true).
   */
  readonly recovered: boolean | undefined;
}

/** Result of applying a delta. */
export type DeltaResult = 'applied' | 'gap' | 'stale' | 'waiting';

function compareKeys(a: unknown, b: unknown): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/**
 * The client's copy of one channel: snapshot, then deltas in sequence. A
 * delta whose `prev` is not the last applied sequence number is a gap: the
 * store waits for a fresh snapshot (the client asks for a resync). Keyed rows
 * are replaced by new objects when they change, so UI code can compare by
 * reference. List channels remember their stream position (epoch, offset),
 * which the client sends to recover the items missed while disconnected.
 *
 * @example
 * ```ts
 * const store = new ChannelStore('candles');
 * store.applySnapshot(snapshot);
 * if (store.applyDelta(delta) === 'gap') send({ type: 'resync', channel: delta.channel });
 * ```
 */
export class ChannelStore {
  readonly keyField: RowKeyField | undefined;
  /** Last applied sequence number (-1 before the first snapshot). */
  seq = -1;
  /** Waiting for a snapshot (before the first one, after a gap, after a reconnect). */
  waiting = true;
  /** List channels: the epoch of the stream, once a snapshot gave it. */
  private epoch: string | undefined;
  /** List channels: the offset of the last item received. */
  private offset = 0;
  private recovered: boolean | undefined;
  private limit = Number.POSITIVE_INFINITY;
  private list: Row[] = [];
  private readonly keyed = new Map<unknown, Row>();
  private rowsCache: readonly Row[] | undefined;
  private reset = false;
  private appended: Row[] = [];
  private readonly changedKeys = new Set<unknown>();

  constructor(readonly kind: ChannelKind) {
    this.keyField = kind === 'trades' ? undefined : ROW_KEY[kind];
  }

  /** The current rows: list channels oldest first, keyed channels ascending by key. */
  rows(): readonly Row[] {
    if (this.rowsCache !== undefined) return this.rowsCache;
    if (this.keyField === undefined) {
      this.rowsCache = this.list.slice();
    } else {
      const out = [...this.keyed.values()];
      const k = this.keyField;
      // Private channels keep their rows in the order they first came (ids are not ordered).
      if (this.kind !== 'user') out.sort((a, b) => compareKeys(a[k], b[k]));
      this.rowsCache = out;
    }
    return this.rowsCache;
  }

  /** List channels: where the stream stopped (for recovery after a reconnect), undefined before the first snapshot. */
  position(): StreamPosition | undefined {
    return this.keyField === undefined && this.epoch !== undefined ? { epoch: this.epoch, offset: this.offset } : undefined;
  }

  /**
   * Replaces the state with a snapshot; a snapshot with `recovered: true`
   * (the items missed since the position this store gave) is appended instead.
   */
  applySnapshot(msg: SnapshotMessage): void {
    if (msg.recovered !== undefined) this.recovered = msg.recovered;
    if (typeof msg.epoch === 'string' && typeof msg.offset === 'number') {
      const recovered = msg.recovered === true && this.keyField === undefined && msg.epoch === this.epoch;
      this.epoch = msg.epoch;
      this.offset = msg.offset;
      if (recovered) {
        this.seq = msg.seq;
        this.waiting = false;
        this.append(msg.rows as readonly Row[]);
        return;
      }
    }
    this.seq = msg.seq;
    this.waiting = false;
    this.limit = msg.limit;
    this.rowsCache = undefined;
    this.reset = true;
    this.appended = [];
    this.changedKeys.clear();
    const rows = msg.rows as readonly Row[];
    if (this.keyField === undefined) {
      this.list = this.limit > 0 ? rows.slice(-this.limit) : [];
    } else {
      this.keyed.clear();
      for (const r of rows) this.keyed.set(r[this.keyField], { ...r });
    }
  }

  /** Applies a delta when it follows the last applied sequence number. */
  applyDelta(msg: DeltaMessage): DeltaResult {
    if (this.waiting) return 'waiting';
    if (msg.seq <= this.seq) return 'stale';
    if (msg.prev !== this.seq) {
      this.waiting = true;
      return 'gap';
    }
    this.seq = msg.seq;
    this.rowsCache = undefined;
    const rows = msg.rows as readonly Row[];
    if (this.keyField === undefined) {
      if (typeof msg.offset === 'number') this.offset = msg.offset;
      this.append(rows);
      return 'applied';
    }
    const k = this.keyField;
    for (const r of rows) {
      const key = r[k];
      const cur = this.keyed.get(key);
      this.keyed.set(key, cur === undefined ? { ...r } : { ...cur, ...r });
      this.changedKeys.add(key);
    }
    while (this.keyed.size > this.limit) {
      if (this.kind === 'user') {
        // The oldest row of a private channel (the server drops the same one).
        const first = this.keyed.keys().next().value;
        this.keyed.delete(first);
        this.changedKeys.delete(first);
        continue;
      }
      let min: unknown;
      let first = true;
      for (const key of this.keyed.keys()) {
        if (first || compareKeys(key, min) < 0) min = key;
        first = false;
      }
      this.keyed.delete(min);
      this.changedKeys.delete(min);
    }
    return 'applied';
  }

  private append(rows: readonly Row[]): void {
    this.rowsCache = undefined;
    for (const r of rows) {
      this.list.push(r);
      this.appended.push(r);
    }
    if (this.list.length > this.limit) this.list = this.limit > 0 ? this.list.slice(-this.limit) : [];
    if (this.appended.length > 10_000) this.appended = this.appended.slice(-10_000);
  }

  /** The changes since the last call, or undefined when there are none. */
  takeChanges(): ChannelChanges<Row> | undefined {
    if (!this.reset && this.appended.length === 0 && this.changedKeys.size === 0 && this.recovered === undefined) return undefined;
    let changed: Row[];
    if (this.keyField === undefined) {
      changed = this.appended;
      this.appended = [];
    } else {
      changed = [];
      for (const key of this.changedKeys) {
        const r = this.keyed.get(key);
        if (r !== undefined) changed.push(r);
      }
      this.changedKeys.clear();
    }
    const reset = this.reset;
    const recovered = this.recovered;
    this.reset = false;
    this.recovered = undefined;
    return { reset, changed, recovered };
  }
}
