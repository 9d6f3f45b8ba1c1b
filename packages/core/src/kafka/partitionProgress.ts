/**
 * Commit bookkeeping of one Kafka partition (design §5): per consumed batch,
 * its first offset and the latest time at which a window of its events
 * closes (end of the event's window at the largest timeframe + grace). The
 * committable offset is the first offset of the oldest batch the watermark
 * has not closed yet, or the next offset to read when every batch is closed.
 * Memory is O(batches with events in open windows).
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
    if (this.firsts.length - this.head === 0 && closeAt === Number.NEGATIVE_INFINITY) {
      this.next = next;
      return;
    }
    this.firsts.push(first);
    this.closes.push(closeAt);
    this.next = next;
  }

  /** Batches still holding the committable offset back. */
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
}

/** Encodes the commit metadata of a partition: the watermark at commit time, and whether a checkpoint was stored with it. */
export function encodeCommitMetadata(watermark: number, checkpointed = false): string {
  return JSON.stringify({ tickflow: 1, watermark: Number.isFinite(watermark) ? watermark : null, ...(checkpointed ? { checkpoint: true } : {}) });
}

/** Reads the commit metadata: its watermark (−Infinity when none or not tickflow's) and whether a checkpoint came with it. */
export function decodeCommitMetadata(metadata: string | null | undefined): { watermark: number; checkpointed: boolean } {
  const none = { watermark: Number.NEGATIVE_INFINITY, checkpointed: false };
  if (metadata === null || metadata === undefined || metadata === '') return none;
  try {
    const m = JSON.parse(metadata) as { tickflow?: unknown; watermark?: unknown; checkpoint?: unknown };
    if (m.tickflow !== 1) return none;
    return { watermark: typeof m.watermark === 'number' && Number.isFinite(m.watermark) ? m.watermark : Number.NEGATIVE_INFINITY, checkpointed: m.checkpoint === true };
  } catch {
    return none;
  }
}
