import type { TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { TickflowError } from '../errors.js';
import type { CheckpointScope, CheckpointStore } from './checkpointStore.js';
import { isRebalanceError } from './groupHeartbeats.js';
import type { KafkaConsumerOptions } from './kafkaConsumerOptions.js';
import type { Generation } from './partitionAssignment.js';
import { encodePartitionCheckpoint } from './partitionCheckpoint.js';
import type { PartitionCheckpoint } from './partitionCheckpoint.js';
import { encodeCommitMetadata } from './partitionProgress.js';

/** What an OffsetCommitter writes to and reports to. */
export interface OffsetCommitterOptions {
  readonly topic: string;
  readonly scope: CheckpointScope;
  /** Where window state is checkpointed (none: offsets follow the no-checkpoint rule). */
  readonly store: CheckpointStore | undefined;
  /** Commits offsets of the group's current kafkajs consumer. */
  readonly commitOffsets: (offsets: TopicPartitionOffsetAndMetadata[]) => Promise<void>;
  readonly onCommit: KafkaConsumerOptions['onCommit'];
  readonly warn: (m: string) => void;
  /** Counters of the consumer this committer adds to. */
  readonly counts: { commits: number; checkpoints: number };
}

/**
 * How a commit ended: `done` (committed, or nothing to commit), `retry`
 * (nothing committed; commit again later), or a rebalance error the commit
 * ran into, for kafkajs (the next owner re-reads from the last commit).
 */
export type CommitOutcome = 'done' | 'retry' | { readonly rejoin: unknown };

/** One partition's window state, encoded when the commit was prepared. */
interface PreparedCheckpoint {
  readonly partition: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A commit prepared at one instant (`OffsetCommitter.prepare`), to be finished once what was emitted before it is durable. */
export interface PreparedCommit<T> {
  readonly gen: Generation<T>;
  readonly checkpoints: readonly PreparedCheckpoint[];
  /** Checkpoints were turned off at this prepare: delete the group's stored ones first. */
  readonly dropCheckpoints: boolean;
  readonly offsets: readonly { topic: string; partition: number; offset: string; metadata: string; watermark: number }[];
}

/**
 * The second half of a commit, once everything the jobs emitted is durable
 * (docs/architecture.md, "Exactly-once results from Kafka"). With
 * checkpoints: stores each partition's window state at its next offset,
 * then commits those offsets (with the safe offset in the metadata, for a
 * lost checkpoint). Without: commits, per partition, the first offset of the
 * oldest batch with an open window at the watermark. The watermark goes
 * into the commit metadata either way.
 */
export class OffsetCommitter {
  /** Per partition, the offset last committed (or found committed when assigned). */
  readonly lastCommitted = new Map<number, number>();
  /**
   * Per partition, the watermark this generation last committed with it. A
   * partition whose offset stays put is committed again when the watermark
   * moved, so the commit metadata always says how far the windows are
   * durable (readers such as the reference server's durableProgress.ts use it).
   */
  readonly lastWatermark = new Map<number, number>();
  /** Set when the state could not be split by partition: commits follow the no-checkpoint rule then. */
  private checkpointsOff = false;
  /** Checkpoints just turned off: the next finish deletes the group's stored ones. */
  private dropPending = false;

  constructor(private readonly options: OffsetCommitterOptions) {}

  /**
   * Checkpoints (when a store is set) and commits the partitions of `gen` at
   * watermark `wm` (`+Infinity`, end of stream, commits everything read).
   */
  async commit<T>(gen: Generation<T>, wm: number): Promise<CommitOutcome> {
    return this.finish(this.prepare(gen, wm));
  }

  /**
   * The synchronous half of a commit: the window state of every partition
   * that moved (encoded, so later events do not change it) and the offsets
   * and metadata to commit, as of now. `finish` stores and commits them once
   * everything the jobs emitted before this call is durable, while the
   * consumer reads on.
   */
  prepare<T>(gen: Generation<T>, wm: number): PreparedCommit<T> {
    const store = this.options.store;
    const checkpoints = store !== undefined && !this.checkpointsOff ? this.takeCheckpoints(gen) : [];
    const checkpointed = store !== undefined && !this.checkpointsOff;
    const offsets: { topic: string; partition: number; offset: string; metadata: string; watermark: number }[] = [];
    for (const [partition, { progress }] of gen.parts) {
      const safe = progress.committable(wm);
      const offset = checkpointed ? progress.next : safe;
      const stored = wm === Number.POSITIVE_INFINITY ? progress.commitWatermark(progress.maxCloseAt) : progress.commitWatermark(wm);
      if (this.lastCommitted.get(partition) === offset && this.lastWatermark.get(partition) === stored) continue;
      offsets.push({ topic: this.options.topic, partition, offset: String(offset), metadata: encodeCommitMetadata(stored, checkpointed ? safe : undefined), watermark: stored });
    }
    return { gen, checkpoints, dropCheckpoints: this.dropPending, offsets };
  }

  /** The asynchronous half: stores the prepared checkpoints, then commits the prepared offsets. */
  async finish<T>(c: PreparedCommit<T>): Promise<CommitOutcome> {
    const store = this.options.store;
    if (store !== undefined && c.dropCheckpoints) {
      this.dropPending = false;
      await store.save(this.options.scope, [...c.gen.parts.keys()].map((partition) => ({ partition, offset: 0, data: null }))).catch(() => undefined);
    }
    if (store !== undefined && !(await this.saveCheckpoints(c.gen, store, c.checkpoints))) return 'retry';
    const offsets = c.offsets;
    if (offsets.length === 0) return 'done';
    try {
      await this.options.commitOffsets(offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata })));
    } catch (e) {
      // A rebalance is under way: the next owner re-reads from the last commit (or checkpoint), which is safe.
      this.options.warn(`offset commit failed (${e instanceof Error ? e.message : String(e)}); the partitions resume from the previous commit or checkpoint`);
      return isRebalanceError(e) ? { rejoin: e } : 'retry';
    }
    this.options.counts.commits++;
    for (const o of offsets) {
      this.lastCommitted.set(o.partition, Number(o.offset));
      this.lastWatermark.set(o.partition, o.watermark);
    }
    this.options.onCommit?.(offsets.map((o) => ({ partition: o.partition, offset: Number(o.offset), watermark: o.watermark })));
    return 'done';
  }

  /**
   * The window state of every partition that moved since its last
   * checkpoint. A state that cannot be split by partition (a key on several
   * partitions) turns checkpoints off for good, with a warning; the next
   * `finish` deletes this group's checkpoints so no restart resumes from a
   * stale one.
   */
  private takeCheckpoints<T>(gen: Generation<T>): PreparedCheckpoint[] {
    const topic = this.options.topic;
    const cps: PreparedCheckpoint[] = [];
    try {
      for (const [partition, st] of gen.parts) {
        if (st.checkpointed === st.progress.next) continue;
        const state: PartitionCheckpoint = { v: 1, topic, partition, offset: st.progress.next, maxTs: st.maxTs, progress: st.progress.state(), jobs: gen.jobs.map((j, i) => j.snapshot(st.inputs[i]!)) };
        cps.push({ partition, offset: st.progress.next, data: encodePartitionCheckpoint(state) });
      }
    } catch (e) {
      if (!(e instanceof TickflowError && e.code === 'CHECKPOINT_FAILED')) throw e;
      this.checkpointsOff = true;
      this.dropPending = true;
      this.options.warn(`checkpoints are off from now on: ${e.message}. Offsets are committed only once the largest window closed, so a restart re-reads that far`);
      return [];
    }
    return cps;
  }

  /** Stores prepared checkpoints. False when the store failed (nothing is committed then). */
  private async saveCheckpoints<T>(gen: Generation<T>, store: CheckpointStore, cps: readonly PreparedCheckpoint[]): Promise<boolean> {
    if (cps.length === 0) return true;
    try {
      await store.save(this.options.scope, cps);
    } catch (e) {
      this.options.warn(`storing checkpoints in ${store.describe} failed (${e instanceof Error ? e.message : String(e)}); offsets stay at the previous checkpoint`);
      return false;
    }
    this.options.counts.checkpoints += cps.length;
    for (const c of cps) gen.parts.get(c.partition)!.checkpointed = c.offset;
    return true;
  }
}
