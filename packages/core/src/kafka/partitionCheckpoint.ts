import { deserialize, serialize } from 'node:v8';
import { TickflowError } from '../errors.js';
import type { JobSnapshot } from '../pipeline.js';
import type { CheckpointScope, CheckpointStore } from './checkpointStore.js';
import type { PartitionProgress } from './partitionProgress.js';

/** What a checkpoint holds for one partition (serialized with v8.serialize). */
export interface PartitionCheckpoint {
  readonly v: 1;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly maxTs: number;
  /** The commit bookkeeping (where an exact replay without a checkpoint would start). */
  readonly progress: ReturnType<PartitionProgress['state']>;
  readonly jobs: readonly JobSnapshot[];
}

/** Serializes a partition's checkpoint (v8 structured clone: typed arrays, ±Infinity and −0 survive). */
export function encodePartitionCheckpoint(state: PartitionCheckpoint): Uint8Array {
  return serialize(state);
}

/** Reads a partition's checkpoint, checking it belongs to `topic` and `partition`. */
export function decodePartitionCheckpoint(topic: string, partition: number, data: Uint8Array): PartitionCheckpoint {
  let state: PartitionCheckpoint;
  try {
    state = deserialize(data) as PartitionCheckpoint;
  } catch (e) {
    throw new TickflowError('CHECKPOINT_FAILED', `the checkpoint of ${topic}[${partition}] cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (state === null || typeof state !== 'object' || state.v !== 1 || state.partition !== partition || state.topic !== topic || !Array.isArray(state.jobs)) {
    throw new TickflowError('CHECKPOINT_FAILED', `the checkpoint stored for ${topic}[${partition}] is not one of this topic and partition`);
  }
  return state;
}

/**
 * The checkpoints of `partitions`, retried with backoff until the store
 * answers (a restart may come up before its database); gives up only when
 * `stopping()` says so or the store fails with something other than a
 * CHECKPOINT_FAILED.
 */
export async function loadCheckpoints(store: CheckpointStore, scope: CheckpointScope, partitions: readonly number[], o: { warn: (m: string) => void; stopping: () => boolean }): Promise<Map<number, { offset: number; data: Uint8Array }>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.load(scope, partitions);
    } catch (e) {
      if (o.stopping() || (e instanceof TickflowError && e.code !== 'CHECKPOINT_FAILED')) throw e;
      o.warn(`loading checkpoints from ${store.describe} failed (attempt ${attempt}: ${e instanceof Error ? e.message : String(e)}); trying again`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
    }
  }
}
