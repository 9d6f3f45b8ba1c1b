import type { PartitionState } from './partitionAssignment.js';

/** What IdlePartitions reads and calls outside one check. */
export interface IdlePartitionsOptions {
  /** How long a partition read to its end must be quiet before it turns idle (ms). */
  readonly idleMs: number;
  /** The last known high watermark per partition (updated here from the broker before deciding). */
  readonly highWatermarks: Map<number, number>;
  /** Runs `fn` in the consumer's batch lock. */
  readonly lock: (fn: () => Promise<void>) => Promise<void>;
  /** The topic's partitions with their high watermark, from the broker. */
  readonly fetchEnds: () => Promise<readonly { readonly partition: number; readonly high: string }[]>;
  readonly warn: (m: string) => void;
}

/**
 * Decides when assigned partitions turn idle (stop holding the jobs'
 * watermark): read to their end, checked with the broker right before
 * deciding and in the batch lock (no batch in between), and quiet for
 * `idleMs`. At most one check runs at a time, at most one a second (or
 * per `idleMs` when shorter). The caller never asks while paused by a sink
 * or rebalancing.
 */
export class IdlePartitions {
  private running: Promise<void> | undefined;
  private lastCheckAt = 0;

  constructor(private readonly options: IdlePartitionsOptions) {}

  /**
   * Starts a check of `parts` when one may turn idle: `mayDecide()` is asked
   * again in the lock (the assignment unchanged, not paused, rebalancing or
   * stopping); each partition that turned idle is marked (`idle`) and passed
   * to `idled`.
   */
  check(now: number, parts: ReadonlyMap<number, PartitionState>, mayDecide: () => boolean, idled: (st: PartitionState) => void): void {
    if (this.running !== undefined) return;
    const { idleMs, highWatermarks } = this.options;
    // Active, quiet for the timeout, and read to the high watermark last known for it.
    const quiet = (p: number, st: PartitionState, at: number): boolean => !st.idle && at - st.lastMessageAt >= idleMs && st.progress.next >= (highWatermarks.get(p) ?? 0);
    let candidates = false;
    for (const [p, st] of parts) {
      if (quiet(p, st, now)) {
        candidates = true;
        break;
      }
    }
    if (!candidates || now - this.lastCheckAt < Math.min(1000, idleMs)) return;
    this.lastCheckAt = now;
    // In the batch lock: the broker's high watermarks are read right before deciding, with no batch in between.
    this.running = this.options
      .lock(async () => {
        if (!mayDecide()) return;
        const ends = await this.options.fetchEnds();
        for (const e of ends) highWatermarks.set(e.partition, Number(e.high));
        const at = Date.now();
        for (const [p, st] of parts) {
          if (!quiet(p, st, at)) continue;
          st.idle = true;
          idled(st);
        }
      })
      .catch((e: unknown) => this.options.warn(`idle check failed (${e instanceof Error ? e.message : String(e)}); partitions stay active`))
      .finally(() => {
        this.running = undefined;
      });
  }
}
