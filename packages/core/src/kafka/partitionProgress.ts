/**
 * Commit bookkeeping of one Kafka partition (docs/architecture.md, "Exactly-once results from Kafka"): per consumed batch,
 * its first offset and the latest time at which a window of its events
 * closes (end of the event's window at the largest timeframe + grace). The
 * committable offset ("safe offset") is the first offset of the oldest batch
 * the watermark has not closed yet, or the next offset to read when every
 * batch is closed. Only batches whose close time beats every earlier one are
 * kept (a batch closing no later than an earlier open one can never be the
 * oldest open batch), so memory is O(distinct close times): a few entries a
 * day with 1d windows.
 *
 * `restoredWatermark` is the watermark stored with the last commit: events at
 * or after the committed offset whose windows had already closed then were
 * made durable before that commit, so a replay must skip them (recomputing
 * them would overwrite a complete window with a partial one).
 */
export class PartitionProgress {
  private firsts: number[] = [];
  private closes: number[] = [];
  private head = 0;
  /** Largest window-close time of any event consumed (−Infinity before the first). */
  maxCloseAt = Number.NEGATIVE_INFINITY;

  constructor(
    /** The offset reading (re)started from: committable until a batch is added. */
    public next: number,
    /** The watermark stored with the last commit (−Infinity when none). */
    readonly restoredWatermark: number = Number.NEGATIVE_INFINITY,
  ) {}

  /** Records a consumed batch: offsets [first, next) whose events close by `closeAt` (−Infinity: nothing open). */
  add(first: number, next: number, closeAt: number): void {
    if (closeAt > this.maxCloseAt) this.maxCloseAt = closeAt;
    const open = this.firsts.length - this.head;
    if (closeAt !== Number.NEGATIVE_INFINITY && (open === 0 || closeAt > this.closes[this.closes.length - 1]!)) {
      this.firsts.push(first);
      this.closes.push(closeAt);
    }
    this.next = next;
  }

  /** Batches still holding the committable offset back (record-breaking ones only). */
  get openBatches(): number {
    return this.firsts.length - this.head;
  }

  /** The offset that may be committed once everything the watermark closed is durable. */
  committable(watermark: number): number {
    while (this.head < this.firsts.length && this.closes[this.head]! <= watermark) this.head++;
    if (this.head > 1024 && this.head * 2 > this.firsts.length) {
      this.firsts = this.firsts.slice(this.head);
      this.closes = this.closes.slice(this.head);
      this.head = 0;
    }
    return this.head < this.firsts.length ? this.firsts[this.head]! : this.next;
  }

  /** The watermark to store with a commit: it never goes back below the restored one. */
  commitWatermark(watermark: number): number {
    return watermark > this.restoredWatermark ? watermark : this.restoredWatermark;
  }

  /** The bookkeeping as plain data, for a checkpoint (see `PartitionProgress.from`). */
  state(): { next: number; firsts: number[]; closes: number[]; maxCloseAt: number } {
    return { next: this.next, firsts: this.firsts.slice(this.head), closes: this.closes.slice(this.head), maxCloseAt: this.maxCloseAt };
  }

  /** Rebuilds the bookkeeping a checkpoint holds. */
  static from(state: { next: number; firsts: readonly number[]; closes: readonly number[]; maxCloseAt: number }): PartitionProgress {
    const p = new PartitionProgress(state.next);
    p.firsts = [...state.firsts];
    p.closes = [...state.closes];
    p.maxCloseAt = state.maxCloseAt;
    return p;
  }
}

/**
 * Encodes the commit metadata of a partition: the watermark at commit time
 * and, when a checkpoint was stored with the commit, the safe offset (where
 * an exact replay without that checkpoint starts: the oldest batch with an
 * open window).
 */
export function encodeCommitMetadata(watermark: number, safeOffset?: number): string {
  return JSON.stringify({ tickflow: 1, watermark: Number.isFinite(watermark) ? watermark : null, ...(safeOffset === undefined ? {} : { checkpoint: true, safe: safeOffset }) });
}

/** Reads the commit metadata: its watermark (−Infinity when none or not tickflow's), whether a checkpoint came with it, and the safe offset. */
export function decodeCommitMetadata(metadata: string | null | undefined): { watermark: number; checkpointed: boolean; safe: number | undefined } {
  const none = { watermark: Number.NEGATIVE_INFINITY, checkpointed: false, safe: undefined };
  if (metadata === null || metadata === undefined || metadata === '') return none;
  try {
    const m = JSON.parse(metadata) as { tickflow?: unknown; watermark?: unknown; checkpoint?: unknown; safe?: unknown };
    if (m.tickflow !== 1) return none;
    return {
      watermark: typeof m.watermark === 'number' && Number.isFinite(m.watermark) ? m.watermark : Number.NEGATIVE_INFINITY,
      checkpointed: m.checkpoint === true,
      safe: typeof m.safe === 'number' && Number.isInteger(m.safe) && m.safe >= 0 ? m.safe : undefined,
    };
  } catch {
    return none;
  }
}
