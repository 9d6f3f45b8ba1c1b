import { TickflowError } from '@tickflow/core';
import type { WindowLifecycle } from './windowLifecycle.js';
import { FINAL, MIXED, NONE } from './windowTables.js';

/** Numbers per window in a snapshot's `windows` array: key index, level, start, flags, count, closed count, last version. */
const SNAP_FIELDS = 7;

/** The state of one input's keys in a WindowStage (see `WindowStage.snapshot`). */
export interface WindowSnapshot {
  readonly v: 1;
  /** Geometry the state belongs to (checked on restore): `size/hop/label/source` per level and the grace. */
  readonly geometry: string;
  /** Arrival counter (ties of open/close compare it). */
  readonly seq: number;
  readonly keys: readonly string[];
  /** SNAP_FIELDS numbers per open window, higher levels first. */
  readonly windows: Float64Array;
  /** Per window: its accumulator, then the merged accumulator of its purged children (or null). */
  readonly accs: readonly unknown[];
}

/** Geometry string of a snapshot: what must match for a restore. */
function geometry<In, Out>(stage: WindowLifecycle<In, Out>): string {
  return `${stage.levels.map((l) => `${l.size}/${l.hop}/${l.label}/${l.source}`).join(',')};grace=${stage.grace}`;
}

/**
 * The open windows (all levels, fired ones still in grace included) of the
 * keys whose events came on `input`. Throws CHECKPOINT_FAILED when a key
 * with open windows came on several inputs. `WindowStage.snapshot` returns it.
 */
export function snapshotWindows<In, Out>(stage: WindowLifecycle<In, Out>, input: number): WindowSnapshot {
  const keys: string[] = [];
  const meta: number[] = [];
  const accs: unknown[] = [];
  const arena = stage.arena;
  for (let k = 0; k < stage.keyNames.length; k++) {
    const ki = stage.kInput[k]!;
    if (ki !== input && ki !== MIXED) continue;
    let any = false;
    // Higher levels first, so that a restore finds each window's parents already there.
    for (let level = stage.L - 1; level >= 0; level--) {
      for (let w = stage.kOpen[k * stage.L + level]!; w !== NONE; w = stage.wNextOpen[w]!) {
        if (ki === MIXED) {
          throw new TickflowError('CHECKPOINT_FAILED', `${stage.name}: key ${stage.keyNames[k]} arrived on several inputs (partitions), so its windows cannot be checkpointed per partition; key the topic by the window key (the symbol)`);
        }
        if (!any) {
          any = true;
          keys.push(stage.keyNames[k]!);
        }
        meta.push(keys.length - 1, level, stage.wStart[w]!, stage.wFlags[w]! & FINAL, stage.wCount[w]!, stage.wClosedCount[w]!, stage.wLastRev[w]!);
        accs.push(arena.exportAcc(stage.wAcc[w]!), stage.wClosed[w] === NONE ? null : arena.exportAcc(stage.wClosed[w]!));
      }
    }
  }
  return { v: 1, geometry: geometry(stage), seq: stage.seq, keys, windows: Float64Array.from(meta), accs };
}

/** Restores the windows of a `snapshot` as the state of `input`'s keys (before any event of theirs is pushed): `WindowStage.restore`. */
export function restoreWindows<In, Out>(stage: WindowLifecycle<In, Out>, input: number, state: unknown): void {
  const st = state as WindowSnapshot;
  if (st === null || typeof st !== 'object' || st.v !== 1 || !(st.windows instanceof Float64Array)) {
    throw new TickflowError('CHECKPOINT_FAILED', `${stage.name}: not a window checkpoint`);
  }
  if (st.geometry !== geometry(stage)) {
    throw new TickflowError('CHECKPOINT_FAILED', `${stage.name}: the checkpoint was taken with other windows (${st.geometry}) than this job's (${geometry(stage)}); start from an older offset or a new consumer group`);
  }
  if (st.seq > stage.seq) stage.seq = st.seq;
  const m = st.windows;
  const arena = stage.arena;
  for (let i = 0, j = 0; i < m.length; i += SNAP_FIELDS, j += 2) {
    const key = st.keys[m[i]!]!;
    let k = stage.keyIds.get(key);
    if (k === undefined) k = stage.newKey(key);
    const ki = stage.kInput[k]!;
    stage.kInput[k] = ki === NONE || ki === input ? input : MIXED;
    const level = m[i + 1]!;
    const start = m[i + 2]!;
    const end = start + stage.levels[level]!.size;
    const final = m[i + 3]! !== 0;
    const w = stage.allocWindow();
    stage.wStart[w] = start;
    stage.wEnd[w] = end;
    stage.wKey[w] = k;
    stage.wLevel[w] = level;
    stage.wCount[w] = m[i + 4]!;
    stage.wClosedCount[w] = m[i + 5]!;
    stage.wLastRev[w] = m[i + 6]!;
    stage.wFlags[w] = final ? FINAL : 0;
    stage.wAcc[w] = arena.alloc();
    arena.importAcc(stage.wAcc[w]!, st.accs[j]);
    const closed = st.accs[j + 1];
    if (closed === null || closed === undefined) stage.wClosed[w] = NONE;
    else {
      stage.wClosed[w] = arena.alloc();
      arena.importAcc(stage.wClosed[w]!, closed);
    }
    stage.wLastOut[w] = undefined;
    // A parent purges after its children, so a checkpoint that holds a window holds its parents.
    stage.link(w, k, level, start, false);
    const due = final ? end + stage.grace : end;
    if (final) stage.purgeQ[level]!.add(due, w);
    else stage.fireQ[level]!.add(due, w);
    if (due < stage.nextDue) stage.nextDue = due;
    // The fast path points at the newest open window of the key (any open one would do).
    if (level === 0 && stage.tumbling0 && !final && (stage.kCurW[k] === NONE || stage.wStart[stage.kCurW[k]!]! < start)) stage.setCurrent(k, w);
  }
}
