import { ROW_KEY } from '../protocol.js';
import type { ChannelKind, DeltaMessage } from '../protocol.js';
import type { Row } from './channelState.js';

/**
 * The changes a slow connection has not been sent yet for one channel,
 * merged into one delta spanning sequence numbers `prev` → `seq` (conflation).
 * Keyed rows merge field by field, later values winning; candle rows of one
 * bar merge by OHLC rules (high is the max, low the min, the rest from the
 * later update). List rows keep only the newest `limit` items, which is all a
 * client keeps. When the merged changes outgrow the channel's bound, the entry
 * turns into "send a fresh snapshot", so memory per connection stays bounded.
 */
export class ConflatedDelta {
  /** True when a fresh snapshot will be sent instead of a merged delta. */
  snapshot: boolean;
  prev: number;
  seq: number;
  /** List channels: the offset of the newest item merged. */
  private offset: number | undefined;
  private list: Row[] = [];
  private readonly keyed = new Map<unknown, Row>();

  constructor(
    private readonly kind: ChannelKind,
    private readonly limit: number,
    first: DeltaMessage | undefined,
  ) {
    this.snapshot = first === undefined;
    this.prev = first === undefined ? 0 : first.prev;
    this.seq = first === undefined ? 0 : first.prev;
    if (first !== undefined) this.add(first);
  }

  /** Number of rows held (for the memory bound and metrics). */
  get rows(): number {
    return this.list.length + this.keyed.size;
  }

  /** Merges the next delta of the channel (its `prev` must be this entry's `seq`). */
  add(delta: DeltaMessage): void {
    if (this.snapshot) return;
    this.seq = delta.seq;
    const rows = delta.rows as readonly Row[];
    if (this.kind === 'trades') {
      this.offset = delta.offset;
      for (let i = 0; i < rows.length; i++) this.list.push(rows[i]!);
      if (this.limit > 0 && this.list.length > this.limit) this.list = this.list.slice(-this.limit);
      return;
    }
    const keyField = ROW_KEY[this.kind];
    const candles = this.kind === 'candles';
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const key = row[keyField];
      const cur = this.keyed.get(key);
      if (cur === undefined) {
        this.keyed.set(key, { ...row });
        continue;
      }
      for (const f in row) {
        const v = row[f];
        if (candles && f === 'high' && typeof cur.high === 'number') cur.high = Math.max(cur.high, v as number);
        else if (candles && f === 'low' && typeof cur.low === 'number') cur.low = Math.min(cur.low, v as number);
        else cur[f] = v;
      }
    }
    // More distinct rows than the channel keeps: a snapshot is smaller and exact.
    if (this.keyed.size > this.limit + 16) this.toSnapshot();
  }

  /** Gives up merging: the connection will get a fresh snapshot. */
  toSnapshot(): void {
    this.snapshot = true;
    this.list = [];
    this.keyed.clear();
  }

  /** The merged delta. */
  toMessage(channel: string): DeltaMessage {
    if (this.kind === 'trades') return { type: 'delta', channel, seq: this.seq, prev: this.prev, rows: this.list, offset: this.offset };
    return { type: 'delta', channel, seq: this.seq, prev: this.prev, rows: [...this.keyed.values()] };
  }
}
