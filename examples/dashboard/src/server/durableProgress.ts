import type { Admin } from 'kafkajs';
import { decodeCommitMetadata } from '@tickflow/core/kafka';

/**
 * How far the stores are complete: the event time up to which every window
 * the ingest computes has closed and been written (what the aggregate
 * routes may cache). In embedded mode everything the in-process store holds
 * is complete (+Infinity).
 */
export interface DurableProgress {
  /** Every window closing at or before this event time (ms) is in the stores; −Infinity when not known. Never blocks: refreshes in the background. */
  until(): number;
  close(): Promise<void>;
}

/** Options of {@link groupDurableProgress}. */
export interface GroupProgressOptions {
  readonly brokers: readonly string[];
  /** The consumer group of the trades consumer (every process of the group commits to it). */
  readonly groupId: string;
  readonly topic: string;
  /** How old (ms) an answer may be before `until()` asks the broker again. Default 1 000. */
  readonly refreshMs?: number;
  readonly warn: (message: string) => void;
}

/** Embedded mode: the in-process store is all there is, and it is complete. */
export const everythingDurable: DurableProgress = { until: () => Number.POSITIVE_INFINITY, close: async () => {} };

/**
 * The durable watermark of a Kafka consumer group, read from the broker:
 * the trades consumer commits only after the stores made durable what the
 * windows emitted, and writes the watermark of that commit into each
 * partition's commit metadata (packages/core/src/kafka/offsetCommitter.ts).
 * The minimum over the topic's partitions is then a point before which
 * every window of every process of the group is in the stores. A partition
 * counts as complete (no bound) when it is empty, or committed to its end
 * with no window open at that commit; a partition with data and no commit
 * yet means nothing is known (−Infinity). Reads go to the broker at most
 * once per `refreshMs`, in the background; while the broker cannot be read
 * the answer is −Infinity (nothing is taken as complete on old news).
 */
export async function groupDurableProgress(o: GroupProgressOptions): Promise<DurableProgress> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin: Admin = new Kafka({ clientId: 'tickflow-serve-progress', brokers: [...o.brokers], logLevel: logLevel.NOTHING }).admin();
  const refreshMs = o.refreshMs ?? 1_000;
  let value = Number.NEGATIVE_INFINITY;
  let readAt = 0;
  let inflight = false;
  let failing = false;
  let closed = false;
  let connected: Promise<void> | undefined;

  const read = async (): Promise<number> => {
    connected ??= admin.connect();
    await connected;
    const [committed, ends] = await Promise.all([admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] }), admin.fetchTopicOffsets(o.topic)]);
    const byPartition = new Map((committed.find((t) => t.topic === o.topic)?.partitions ?? []).map((p) => [p.partition, p]));
    let min = Number.POSITIVE_INFINITY;
    for (const end of ends) {
      const high = Number(end.high);
      const low = Number(end.low);
      const c = byPartition.get(end.partition);
      const offset = c === undefined ? -1 : Number(c.offset);
      if (offset < 0) {
        if (high > low) return Number.NEGATIVE_INFINITY;
        continue;
      }
      const meta = decodeCommitMetadata(c?.metadata);
      // Read to its end with no window open at that commit (with a checkpoint: the safe offset is the end too; without, the
      // committed offset is the oldest open batch, so at the end means none): this partition holds nothing back.
      const noneOpen = meta.checkpointed ? meta.safe !== undefined && meta.safe >= offset : meta.watermark > Number.NEGATIVE_INFINITY;
      if (offset >= high && noneOpen) continue;
      if (meta.watermark < min) min = meta.watermark;
    }
    return min;
  };

  const refresh = (): void => {
    if (inflight || closed) return;
    inflight = true;
    read().then(
      (v) => {
        value = v;
        readAt = Date.now();
        failing = false;
      },
      (e: unknown) => {
        value = Number.NEGATIVE_INFINITY;
        readAt = Date.now();
        if (!failing) o.warn(`kafka: cannot read the committed progress of group ${o.groupId} (${e instanceof Error ? e.message : String(e)}); aggregate answers are not cached until it can`);
        failing = true;
        connected = undefined;
      },
    ).finally(() => {
      inflight = false;
    });
  };

  return {
    until() {
      if (Date.now() - readAt >= refreshMs) refresh();
      return value;
    },
    async close() {
      closed = true;
      if (connected !== undefined) await admin.disconnect().catch(() => undefined);
    },
  };
}
