import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TickflowError } from '../errors.js';

/** The consumer group and topic a set of checkpoints belongs to. */
export interface CheckpointScope {
  readonly groupId: string;
  readonly topic: string;
}

/**
 * The state of one partition's windows at an offset: everything a consumer
 * needs to continue from `offset` exactly as if it had never stopped.
 */
export interface Checkpoint {
  readonly partition: number;
  /** The next offset to read: every message before it is folded into `data`. */
  readonly offset: number;
  /** The serialized state (opaque to the store), or null to delete the partition's checkpoint. */
  readonly data: Uint8Array | null;
}

/**
 * Durable storage of checkpoints for `kafkaConsumer` (its `checkpoints`
 * option), keyed by (group, topic, partition); one checkpoint per key, the
 * newest. Built in: `fileCheckpoints(dir)` (one machine) and
 * `TimescaleStore.checkpoints()` from `@tickflow/sinks/timescale` (shared by
 * every process of a group, so a partition can move between machines).
 */
export interface CheckpointStore {
  /** The stored checkpoints of `partitions` (a partition without one is absent from the map). */
  load(scope: CheckpointScope, partitions: readonly number[]): Promise<Map<number, { offset: number; data: Uint8Array }>>;
  /** Stores checkpoints durably (all or none when the store can; each replaces the partition's previous one). */
  save(scope: CheckpointScope, checkpoints: readonly Checkpoint[]): Promise<void>;
  /** A short description for logs (`file:/var/lib/tickflow/checkpoints`). */
  readonly describe: string;
}

/** A file name safe for any group or topic name. */
function safeName(s: string): string {
  return encodeURIComponent(s).replace(/\./g, '%2E');
}

/**
 * Checkpoints in files under `dir` (`<group>/<topic>/<partition>.ckpt`),
 * written to a temporary file, fsync'd and renamed, so a crash leaves the old
 * checkpoint or the new one, never a torn one. Local to one machine: use a
 * shared store (PostgreSQL) when processes of a group run on several.
 *
 * @example
 * ```ts
 * const consumer = kafkaConsumer({ brokers, topic: 'trades', groupId: 'candles', windows: { size: ['1m', '1d'] }, checkpoints: fileCheckpoints('/var/lib/tickflow') });
 * ```
 */
export function fileCheckpoints(dir: string): CheckpointStore {
  if (typeof dir !== 'string' || dir === '') throw new TickflowError('INVALID_ARGUMENT', 'fileCheckpoints needs a directory, e.g. fileCheckpoints("./.tickflow/checkpoints")');
  const folder = (s: CheckpointScope): string => join(dir, safeName(s.groupId), safeName(s.topic));
  const header = Buffer.alloc(8);
  return {
    describe: `file:${dir}`,
    async load(scope, partitions) {
      const out = new Map<number, { offset: number; data: Uint8Array }>();
      for (const p of partitions) {
        let buf: Buffer;
        try {
          buf = readFileSync(join(folder(scope), `${p}.ckpt`));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw new TickflowError('CHECKPOINT_FAILED', `reading the checkpoint of ${scope.topic}[${p}] failed: ${(e as Error).message}`, { cause: e });
        }
        if (buf.length < 8) throw new TickflowError('CHECKPOINT_FAILED', `the checkpoint file of ${scope.topic}[${p}] is truncated (${buf.length} bytes)`);
        out.set(p, { offset: Number(buf.readBigInt64BE(0)), data: new Uint8Array(buf.buffer, buf.byteOffset + 8, buf.length - 8) });
      }
      return out;
    },
    async save(scope, checkpoints) {
      const d = folder(scope);
      mkdirSync(d, { recursive: true });
      for (const c of checkpoints) {
        const file = join(d, `${c.partition}.ckpt`);
        if (c.data === null) {
          rmSync(file, { force: true });
          continue;
        }
        const tmp = `${file}.${process.pid}.tmp`;
        const fd = openSync(tmp, 'w');
        try {
          header.writeBigInt64BE(BigInt(c.offset), 0);
          writeSync(fd, header);
          writeSync(fd, c.data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, file);
      }
      // The renames are durable once the folder is.
      const dfd = openSync(d, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    },
  };
}
