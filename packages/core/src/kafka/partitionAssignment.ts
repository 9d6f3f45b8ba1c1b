import { TickflowError } from '../errors.js';
import type { Job } from '../pipeline.js';
import { decodePartitionCheckpoint } from './partitionCheckpoint.js';
import { PartitionProgress, decodeCommitMetadata } from './partitionProgress.js';

/** What the consumer keeps per assigned partition. */
export interface PartitionState {
  /** Per job, the watermark input of this partition. */
  readonly inputs: number[];
  readonly progress: PartitionProgress;
  /** Max event time read on this partition (−Infinity before the first); restored from checkpoints. */
  maxTs: number;
  /** Wall-clock ms of the last message read (or of the assignment). */
  lastMessageAt: number;
  /** True while the jobs have this partition marked idle. */
  idle: boolean;
  /** The offset of the last checkpoint stored (or restored), −1 when none. */
  checkpointed: number;
}

/** The jobs of one assignment and its partitions. */
export interface Generation<T> {
  readonly jobs: readonly Job<T, unknown>[];
  /** partition → its inputs, commit bookkeeping and idleness. */
  readonly parts: Map<number, PartitionState>;
}

/** What assignPartitions starts the new jobs from. */
export interface AssignmentInput<T> {
  readonly topic: string;
  /** The assigned partitions, ascending. */
  readonly assigned: readonly number[];
  /** The new generation's jobs (fresh, one input each so far). */
  readonly jobs: readonly Job<T, unknown>[];
  /** The group's committed offsets of the topic's partitions (with their metadata). */
  readonly committed: readonly { readonly partition: number; readonly offset: string; readonly metadata: string | null }[];
  /** The topic's partitions with their low watermark (first offset still stored). */
  readonly ends: readonly { readonly partition: number; readonly low: string }[];
  /** The stored checkpoints of the assigned partitions. */
  readonly saved: ReadonlyMap<number, { offset: number; data: Uint8Array }>;
  /** How the checkpoint store names itself in warnings (undefined without one). */
  readonly storeName: string | undefined;
  /** Filled with the committed offset of each partition that has one. */
  readonly lastCommitted: Map<number, number>;
  readonly warn: (m: string) => void;
  /** Called for each partition restored from a checkpoint. */
  readonly onRestored: () => void;
}

/**
 * Sets up the partitions of a new assignment in fresh jobs: from each
 * partition's checkpoint when there is one (state restored into the jobs,
 * reading resumes at its offset), else from the committed offset (or the
 * safe offset of the commit when its checkpoint is gone), else from the
 * start of the partition. Returns the partitions' states and the seeks that
 * move reading away from the committed offsets.
 */
export function assignPartitions<T>(a: AssignmentInput<T>): { parts: Map<number, PartitionState>; seeks: { partition: number; offset: number }[] } {
  const { topic, assigned, jobs, saved, warn } = a;
  const parts = new Map<number, PartitionState>();
  const byPartition = new Map(a.committed.map((p) => [p.partition, p]));
  const lows = new Map(a.ends.map((e) => [e.partition, Number(e.low)]));
  a.lastCommitted.clear();
  const now = Date.now();
  const seeks: { partition: number; offset: number }[] = [];
  // Every partition's input exists before any is restored: a restore advances the watermark to the
  // minimum over the inputs, and with the later partitions not yet registered that minimum would be
  // the first partition's alone, firing (and purging) the windows of partitions restored after it.
  const inputsOf = assigned.map((_, i) => jobs.map((job) => (i === 0 ? 0 : job.addInput())));
  assigned.forEach((partition, i) => {
    const inputs = inputsOf[i]!;
    const c = byPartition.get(partition);
    const hasCommit = c !== undefined && Number(c.offset) >= 0;
    const low = lows.get(partition) ?? 0;
    let offset = hasCommit ? Number(c.offset) : low;
    if (hasCommit) a.lastCommitted.set(partition, offset);
    const meta = decodeCommitMetadata(c?.metadata);
    const cp = saved.get(partition);
    let maxTs = Number.NEGATIVE_INFINITY;
    let checkpointed = -1;
    const restoredWatermark = meta.watermark;
    let progress: PartitionProgress | undefined;
    if (cp !== undefined) {
      const state = decodePartitionCheckpoint(topic, partition, cp.data);
      if (state.jobs.length !== jobs.length) {
        throw new TickflowError('CHECKPOINT_FAILED', `the checkpoint of ${topic}[${partition}] holds ${state.jobs.length} jobs, the consumer runs ${jobs.length}; restore with the same jobs, or use a new consumer group`);
      }
      jobs.forEach((job, j) => job.restore(inputs[j]!, state.jobs[j]!));
      maxTs = state.maxTs;
      if (cp.offset < low) warn(`${topic}[${partition}]: its checkpoint is at offset ${cp.offset} but the topic now starts at ${low}; messages ${cp.offset}..${low - 1} were deleted by retention and are missing from the windows`);
      if (cp.offset !== offset) seeks.push({ partition, offset: cp.offset });
      offset = cp.offset;
      checkpointed = cp.offset;
      progress = PartitionProgress.from({ ...state.progress, next: cp.offset });
      a.onRestored();
    } else if (meta.checkpointed) {
      // The checkpoint is gone (another machine's files, a wiped store): replay exactly from the safe
      // offset, skipping what was durable by the committed watermark. Slower, never wrong.
      const safe = Math.max(meta.safe ?? offset, low);
      warn(`${topic}[${partition}]: committed at ${offset} with a checkpoint, but ${a.storeName ?? 'no checkpoint store'} has none; replaying from the safe offset ${safe} (${offset - safe} messages) to rebuild its open windows`);
      if (safe !== offset) seeks.push({ partition, offset: safe });
      offset = safe;
    }
    parts.set(partition, { inputs, progress: progress ?? new PartitionProgress(offset, restoredWatermark), maxTs, lastMessageAt: now, idle: false, checkpointed });
  });
  return { parts, seeks };
}
