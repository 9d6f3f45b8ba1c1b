import { TickflowError } from '@tickflow/core';
import type { Aggregator } from '../aggregator.js';
import type { AccArena } from './accArena.js';
import { arenaFor } from './accArena.js';
import { MutableWindowRef } from './mutableWindowRef.js';
import { TimeQueue } from './timeQueue.js';
import type { EmitSpec, LevelSpec } from './windowLevels.js';
import { maxDependents } from './windowLevels.js';
import { DIRTY, FINAL, NONE, PURGED, WindowTables } from './windowTables.js';

/**
 * The life of a window once it exists: created and linked to the windows of
 * the levels that roll up from it, emitted when it changes (as the emit mode
 * asks), fired when the watermark reaches its end, purged at end + grace with
 * its state merged into its parents. Higher-level windows are recomputed from
 * their children (`fold`). WindowStage (windowStage.ts) adds the event path on
 * top; the checkpoint functions (windowSnapshot.ts) read and refill these
 * windows, so the members they use are public.
 */
export abstract class WindowLifecycle<In, Out> extends WindowTables<In, Out> {
  readonly arena: AccArena<In, Out>;
  private readonly same: (a: Out, b: Out) => boolean;
  readonly fireQ: TimeQueue<number>[];
  readonly purgeQ: TimeQueue<number>[];
  /** Levels whose source is level i. */
  private readonly dependents: number[][];
  /** Index d of level j among the dependents of its source. */
  private readonly depIndex: number[];
  /** Level 0 is tumbling (size = hop): a key's fast path then points at its one open level-0 window. */
  readonly tumbling0: boolean;
  protected readonly update: boolean;
  protected readonly throttle: number;
  private readonly keepLastOut: boolean;
  private readonly ref = new MutableWindowRef();
  protected wm = Number.NEGATIVE_INFINITY;
  nextDue = Number.POSITIVE_INFINITY;
  /** Arrival counter (ties of open/close compare it). */
  seq = 0;
  protected dirtyList: number[] = [];

  protected constructor(
    readonly name: string,
    readonly levels: readonly LevelSpec[],
    readonly grace: number,
    emit: EmitSpec,
    agg: Aggregator<In, unknown, Out>,
  ) {
    super(levels.length, maxDependents(levels));
    this.arena = arenaFor(agg);
    this.same = (a, b) => agg.same(a, b);
    this.fireQ = levels.map(() => new TimeQueue<number>());
    this.purgeQ = levels.map(() => new TimeQueue<number>());
    this.dependents = levels.map((_, i) => levels.flatMap((l, j) => (l.source === i && j !== i ? [j] : [])));
    this.depIndex = levels.map((l, j) => (l.source < 0 ? NONE : this.dependents[l.source]!.indexOf(j)));
    const l0 = levels[0]!;
    this.tumbling0 = l0.size === l0.hop;
    this.update = emit.update;
    this.throttle = emit.throttle;
    this.keepLastOut = grace > 0 || emit.update;
  }

  /** Moves the stage's watermark to `wm`, firing and purging what is due. */
  protected advanceOwn(wm: number): void {
    this.wm = wm;
    if (wm >= this.nextDue) {
      this.process(wm);
    }
  }

  /**
   * Puts window `w` (key `k`, `level`, `start`) on its key's open list and
   * links it to its parents at the levels that roll up from it: a missing
   * parent is created when `createParents`, else it is a broken checkpoint.
   */
  link(w: number, k: number, level: number, start: number, createParents: boolean): void {
    const head = k * this.L + level;
    this.wNextOpen[w] = this.kOpen[head]!;
    this.kOpen[head] = w;
    this.openCount++;
    if (level > 0) this.wChildren[w] = [];
    const deps = this.dependents[level]!;
    const pb = w * this.D;
    for (let d = 0; d < this.D; d++) this.wParents[pb + d] = NONE;
    for (let d = 0; d < deps.length; d++) {
      const pl = deps[d]!;
      const psize = this.levels[pl]!.size;
      const pstart = Math.floor(start / psize) * psize;
      let p = this.findOpen(k, pl, pstart);
      if (p === NONE) {
        if (!createParents) throw new TickflowError('CHECKPOINT_FAILED', `${this.name}: the checkpoint of ${this.keyNames[k]} lacks the ${this.levels[pl]!.label} window of its ${this.levels[level]!.label} window at ${start}`);
        p = this.createWindow(k, pl, pstart, pstart + psize);
      }
      this.wChildren[p]!.push(w);
      this.wParents[pb + d] = p;
    }
  }

  protected createWindow(k: number, level: number, start: number, end: number): number {
    const w = this.allocWindow();
    this.wStart[w] = start;
    this.wEnd[w] = end;
    this.wKey[w] = k;
    this.wLevel[w] = level;
    this.wCount[w] = 0;
    this.wClosedCount[w] = 0;
    this.wLastRev[w] = -1;
    this.wFlags[w] = 0;
    this.wAcc[w] = this.arena.alloc();
    this.wClosed[w] = NONE;
    this.wLastOut[w] = undefined;
    this.link(w, k, level, start, true);
    // A window created after the watermark passed its end fires in `changed`, right after its first event.
    if (this.wm < end) {
      this.fireQ[level]!.add(end, w);
      if (end < this.nextDue) this.nextDue = end;
    }
    return w;
  }

  /** Window `w` changed (an event at level 0, a child at higher levels): emit what the mode asks for. */
  protected changed(w: number): void {
    const flags = this.wFlags[w]!;
    if ((flags & FINAL) !== 0) {
      // A correction inside grace.
      if (this.wLevel[w]! > 0) this.fold(w);
      this.emitIfChanged(w);
    } else if (this.wm >= this.wEnd[w]!) {
      // Created late (inside grace): it is already due.
      this.fire(w);
    } else if (this.update) {
      if (this.throttle > 0) {
        if ((flags & DIRTY) === 0) {
          this.wFlags[w] = flags | DIRTY;
          this.dirtyList.push(w);
        }
        return;
      }
      if (this.wLevel[w]! > 0) this.fold(w);
      this.emitIfChanged(w);
    } else {
      return;
    }
    const pb = w * this.D;
    for (let d = 0; d < this.D; d++) {
      const p = this.wParents[pb + d]!;
      if (p !== NONE) this.changed(p);
    }
  }

  private result(w: number): Out {
    const ref = this.ref;
    ref.key = this.keyNames[this.wKey[w]!]!;
    ref.timeframe = this.levels[this.wLevel[w]!]!.label;
    ref.start = this.wStart[w]!;
    ref.end = this.wEnd[w]!;
    const final = (this.wFlags[w]! & FINAL) !== 0;
    ref.final = final;
    ref.rev = this.wCount[w]! * 2 + (final ? 1 : 0);
    return this.arena.result(this.wAcc[w]!, ref);
  }

  private fire(w: number): void {
    const level = this.wLevel[w]!;
    if (level > 0) this.fold(w);
    this.wFlags[w] = (this.wFlags[w]! & ~DIRTY) | FINAL;
    // A fired window leaves the fast path: later events for it are corrections (slow path).
    const k = this.wKey[w]!;
    if (level === 0 && this.kCurW[k] === w) {
      this.kCurStart[k] = Number.POSITIVE_INFINITY;
      this.kCurEnd[k] = Number.NEGATIVE_INFINITY;
    }
    const out = this.result(w);
    if (this.keepLastOut) this.wLastOut[w] = out;
    this.wLastRev[w] = this.ref.rev;
    this.next.push(out);
    const purgeAt = this.wEnd[w]! + this.grace;
    this.purgeQ[level]!.add(purgeAt, w);
    if (purgeAt < this.nextDue) this.nextDue = purgeAt;
  }

  /**
   * Emits the window unless nothing changed since its last emission. The
   * version (2 × events + final) changes with every event, so a window that
   * took an event is always emitted: the version a replay ends on is the one
   * an uninterrupted run ends on.
   */
  private emitIfChanged(w: number): void {
    const out = this.result(w);
    const rev = this.ref.rev;
    const last = this.wLastOut[w];
    if (rev === this.wLastRev[w] && last !== undefined && this.same(last, out)) return;
    this.wLastOut[w] = out;
    this.wLastRev[w] = rev;
    this.next.push(out);
  }

  /** Recomputes a higher-level window's accumulator: purged children's merged part plus the open children. */
  private fold(w: number): void {
    const arena = this.arena;
    arena.release(this.wAcc[w]!);
    const h = arena.alloc();
    const closed = this.wClosed[w]!;
    if (closed !== NONE) arena.merge(h, closed);
    const children = this.wChildren[w]!;
    let count = this.wClosedCount[w]!;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      arena.merge(h, this.wAcc[c]!);
      count += this.wCount[c]!;
    }
    this.wAcc[w] = h;
    this.wCount[w] = count;
  }

  protected flushDirty(): void {
    const list = this.dirtyList;
    this.dirtyList = [];
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      const flags = this.wFlags[w]!;
      if ((flags & DIRTY) === 0) continue;
      this.wFlags[w] = flags & ~DIRTY;
      if ((flags & (PURGED | FINAL)) !== 0) continue;
      this.emitUpdateChain(w);
    }
  }

  private emitUpdateChain(w: number): void {
    if (this.wLevel[w]! > 0) this.fold(w);
    this.emitIfChanged(w);
    const pb = w * this.D;
    for (let d = 0; d < this.D; d++) {
      const p = this.wParents[pb + d]!;
      if (p !== NONE && (this.wFlags[p]! & (FINAL | PURGED)) === 0) this.emitUpdateChain(p);
    }
  }

  /** Fires and purges everything due at `wm`, earliest time first; at equal times fires before purges, lower levels first. */
  private process(wm: number): void {
    const L = this.L;
    for (;;) {
      // Strict comparisons: lower levels win ties among fires and among purges; fires win ties over purges.
      let bestTime = Number.POSITIVE_INFINITY;
      let bestLevel = -1;
      let bestIsFire = false;
      for (let l = 0; l < L; l++) {
        const f = this.fireQ[l]!.peekTime();
        if (f < bestTime) {
          bestTime = f;
          bestLevel = l;
          bestIsFire = true;
        }
      }
      for (let l = 0; l < L; l++) {
        const p = this.purgeQ[l]!.peekTime();
        if (p < bestTime) {
          bestTime = p;
          bestLevel = l;
          bestIsFire = false;
        }
      }
      if (bestLevel < 0 || bestTime > wm) {
        this.nextDue = bestTime;
        return;
      }
      if (bestIsFire) {
        const group = this.fireQ[bestLevel]!.shift();
        for (let i = 0; i < group.length; i++) {
          const w = group[i]!;
          if ((this.wFlags[w]! & (FINAL | PURGED)) === 0) this.fire(w);
        }
      } else {
        const group = this.purgeQ[bestLevel]!.shift();
        for (let i = 0; i < group.length; i++) this.purge(group[i]!);
      }
    }
  }

  private purge(w: number): void {
    const flags = this.wFlags[w]!;
    if ((flags & PURGED) !== 0) return;
    this.wFlags[w] = PURGED;
    const k = this.wKey[w]!;
    const level = this.wLevel[w]!;
    // Unlink from the key's open list.
    const head = k * this.L + level;
    let prev = NONE;
    let cur = this.kOpen[head]!;
    while (cur !== NONE && cur !== w) {
      prev = cur;
      cur = this.wNextOpen[cur]!;
    }
    if (cur === w) {
      if (prev === NONE) this.kOpen[head] = this.wNextOpen[w]!;
      else this.wNextOpen[prev] = this.wNextOpen[w]!;
    }
    this.openCount--;
    if (level === 0 && this.kCurW[k] === w) this.setCurrent(k, NONE);
    const arena = this.arena;
    const acc = this.wAcc[w]!;
    const pb = w * this.D;
    for (let d = 0; d < this.D; d++) {
      const p = this.wParents[pb + d]!;
      if (p === NONE || (this.wFlags[p]! & PURGED) !== 0) continue;
      if (this.wClosed[p] === NONE) this.wClosed[p] = arena.alloc();
      arena.merge(this.wClosed[p]!, acc);
      this.wClosedCount[p]! += this.wCount[w]!;
      const siblings = this.wChildren[p]!;
      const i = siblings.indexOf(w);
      if (i >= 0) siblings.splice(i, 1);
    }
    arena.release(acc);
    if (this.wClosed[w] !== NONE) arena.release(this.wClosed[w]!);
    this.wAcc[w] = NONE;
    this.wClosed[w] = NONE;
    this.wChildren[w] = null;
    this.wLastOut[w] = undefined;
    // Children never outlive their parents (same grace, children purge first), so the id is unreferenced.
    this.wFree.push(w);
  }
}
