import type { BuildContext, KeySelector, StageContext, TradeColumns, WatermarkTracker } from '@tickflow/core';
import { Stage, tradeAt } from '@tickflow/core';
import type { Aggregator, WindowRef } from '../aggregator.js';
import { TimeQueue } from './timeQueue.js';

/** One level of windows: a size and a hop; levels above 0 roll up from `source`. */
export interface LevelSpec {
  readonly size: number;
  readonly hop: number;
  readonly label: string;
  /** Level whose windows are merged into this one's (−1 for level 0, which reads events). */
  readonly source: number;
}

/** How results are emitted (see `EmitMode` in windowOptions). */
export interface EmitSpec {
  readonly update: boolean;
  /** Wall-clock ms between updates of one window; 0 = on every change. */
  readonly throttle: number;
}

/** The open state of one window for one key. */
export class Slot<Acc, Out> implements WindowRef {
  rev = 0;
  final = false;
  dirty = false;
  purged = false;
  lastOut: Out | undefined = undefined;
  /** Windows of higher levels this one rolls up into. */
  parents: Slot<Acc, Out>[] | null = null;
  /** Open windows of the source level that roll up into this one (levels > 0). */
  children: Slot<Acc, Out>[] | null = null;
  /** Merged accumulators of children already purged (levels > 0). */
  closedPart: Acc | null = null;

  constructor(
    readonly keyState: KeyState<Acc, Out>,
    readonly level: number,
    readonly timeframe: string,
    readonly start: number,
    readonly end: number,
    public acc: Acc,
  ) {}

  get key(): string {
    return this.keyState.key;
  }
}

/** Per-key state: the window the last event hit (fast path) and all open windows by level. */
export class KeyState<Acc, Out> {
  cur: Slot<Acc, Out> | null = null;
  readonly open: Slot<Acc, Out>[][];

  constructor(
    readonly key: string,
    levels: number,
  ) {
    this.open = new Array(levels);
    for (let i = 0; i < levels; i++) this.open[i] = [];
  }
}

/**
 * The event-time window engine behind `tumbling` and `hopping`.
 *
 * Per key, level-0 windows aggregate events; higher levels (multi-timeframe)
 * merge the accumulators of the level they roll up from. A window fires
 * (emits with final = true) when the watermark reaches its end, stays open for
 * corrections until end + grace, then is purged and its state released.
 * Events for a purged window go to the late output.
 */
export class WindowStage<In, Acc, Out> extends Stage<In, Out> {
  override readonly columnar: boolean;

  private readonly keys = new Map<string, KeyState<Acc, Out>>();
  private readonly keyOf: (event: In) => string;
  private readonly tsOf: ((event: In) => number) | undefined;
  private readonly fireQ: TimeQueue<Slot<Acc, Out>>[];
  private readonly purgeQ: TimeQueue<Slot<Acc, Out>>[];
  /** Levels whose source is level i. */
  private readonly dependents: number[][];
  private readonly size0: number;
  private readonly hop0: number;
  private readonly tumbling0: boolean;
  private readonly update: boolean;
  private readonly throttle: number;
  private readonly ctx: StageContext;
  private wm = Number.NEGATIVE_INFINITY;
  private nextDue = Number.POSITIVE_INFINITY;
  private seq = 0;
  private dirtyList: Slot<Acc, Out>[] = [];
  /** Key states by dictionary index for columnar batches. */
  private dict: readonly string[] | null = null;
  private dictKeys: (KeyState<Acc, Out> | undefined)[] = [];

  constructor(
    private readonly name: string,
    private readonly levels: readonly LevelSpec[],
    private readonly grace: number,
    emit: EmitSpec,
    private readonly agg: Aggregator<In, Acc, Out>,
    ctx: BuildContext,
    key: KeySelector<unknown>,
  ) {
    super();
    this.ctx = ctx;
    this.keyOf = key.of as (e: In) => string;
    this.tsOf = ctx.timestamp as ((e: In) => number) | undefined;
    this.fireQ = levels.map(() => new TimeQueue<Slot<Acc, Out>>());
    this.purgeQ = levels.map(() => new TimeQueue<Slot<Acc, Out>>());
    this.dependents = levels.map((_, i) => levels.flatMap((l, j) => (l.source === i && j !== i ? [j] : [])));
    const l0 = levels[0]!;
    this.size0 = l0.size;
    this.hop0 = l0.hop;
    this.tumbling0 = l0.size === l0.hop;
    this.update = emit.update;
    this.throttle = emit.throttle;
    if (this.update && this.throttle > 0) ctx.requestTick(this.throttle);
    this.columnar = key.field === 'symbol' && this.tsOf === undefined && typeof agg.addColumns === 'function';
  }

  /** Number of keys with state (for tests and metrics). */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Number of open windows over all keys and levels (for tests and metrics). */
  get openWindows(): number {
    let n = 0;
    for (const ks of this.keys.values()) for (const l of ks.open) n += l.length;
    return n;
  }

  push(event: In): void {
    const key = this.keyOf(event);
    let ks = this.keys.get(key);
    if (ks === undefined) ks = this.newKey(key);
    const ts = this.tsOf === undefined ? (event as unknown as { ts: number }).ts : this.tsOf(event);
    const cur = ks.cur;
    if (cur !== null && ts >= cur.start && ts < cur.end) {
      this.agg.add(cur.acc, event, this.seq++);
      if (cur.final || this.update) this.changed(cur);
      return;
    }
    this.pushSlow(ks, event, ts, null, 0);
  }

  override pushColumns(cols: TradeColumns, input: number, tracker: WatermarkTracker): void {
    if (!this.columnar) {
      super.pushColumns(cols, input, tracker);
      return;
    }
    const agg = this.agg as Aggregator<In, Acc, Out> & Required<Pick<Aggregator<In, Acc, Out>, 'addColumns'>>;
    const symbols = cols.symbols;
    if (symbols !== this.dict) {
      this.dict = symbols;
      this.dictKeys = [];
    }
    const dictKeys = this.dictKeys;
    const ids = cols.symbol;
    const tsCol = cols.ts;
    const n = cols.length;
    for (let i = 0; i < n; i++) {
      const ts = tsCol[i]!;
      // Same order as the row path: observe, add (lateness judged on the previous watermark), then advance.
      const wm = tracker.observe(input, ts);
      const id = ids[i]!;
      let ks = dictKeys[id];
      if (ks === undefined) {
        const key = symbols[id]!;
        ks = this.keys.get(key) ?? this.newKey(key);
        dictKeys[id] = ks;
      }
      const cur = ks.cur;
      if (cur !== null && ts >= cur.start && ts < cur.end) {
        agg.addColumns(cur.acc, cols, i, this.seq++);
        if (cur.final || this.update) this.changed(cur);
      } else {
        this.pushSlow(ks, undefined as unknown as In, ts, cols, i);
      }
      if (wm > this.wm) this.advanceOwn(wm);
    }
  }

  override advance(watermark: number): void {
    if (watermark > this.wm) this.advanceOwn(watermark);
    this.next.advance(watermark);
  }

  override tick(now: number): void {
    if (this.dirtyList.length !== 0) this.flushDirty();
    this.next.tick(now);
  }

  override finish(): void {
    this.advanceOwn(Number.POSITIVE_INFINITY);
    this.next.finish();
  }

  private advanceOwn(wm: number): void {
    this.wm = wm;
    if (wm >= this.nextDue) this.process(wm);
  }

  private newKey(key: string): KeyState<Acc, Out> {
    const ks = new KeyState<Acc, Out>(key, this.levels.length);
    this.keys.set(key, ks);
    return ks;
  }

  /** Adds an event (or a columnar row when `cols` is set) outside the current window of its key. */
  private pushSlow(ks: KeyState<Acc, Out>, event: In, ts: number, cols: TradeColumns | null, row: number): void {
    const size = this.size0;
    const hop = this.hop0;
    const wm = this.wm;
    const grace = this.grace;
    const last = Math.floor(ts / hop) * hop;
    const seq = this.seq++;
    let added = false;
    // Windows containing ts start at last, last − hop, … > ts − size; older ones close first.
    for (let start = last; start > ts - size; start -= hop) {
      let slot = findSlot(ks.open[0]!, start);
      if (slot === undefined) {
        if (wm >= start + size + grace) break;
        slot = this.createSlot(ks, 0, start, start + size);
      }
      if (cols !== null) this.agg.addColumns!(slot.acc, cols, row, seq);
      else this.agg.add(slot.acc, event, seq);
      if (this.tumbling0) ks.cur = slot;
      added = true;
      this.changed(slot);
    }
    if (!added) {
      this.ctx.late({
        event: cols !== null ? tradeAt(cols, row) : event,
        key: ks.key,
        windowStart: last,
        windowEnd: last + size,
        watermark: wm,
        operator: this.name,
      });
    }
  }

  private createSlot(ks: KeyState<Acc, Out>, level: number, start: number, end: number): Slot<Acc, Out> {
    const slot = new Slot<Acc, Out>(ks, level, this.levels[level]!.label, start, end, this.agg.create());
    ks.open[level]!.push(slot);
    if (level > 0) slot.children = [];
    const deps = this.dependents[level]!;
    if (deps.length !== 0) {
      slot.parents = [];
      for (let d = 0; d < deps.length; d++) {
        const pl = deps[d]!;
        const psize = this.levels[pl]!.size;
        const pstart = Math.floor(start / psize) * psize;
        let parent = findSlot(ks.open[pl]!, pstart);
        if (parent === undefined) parent = this.createSlot(ks, pl, pstart, pstart + psize);
        parent.children!.push(slot);
        slot.parents.push(parent);
      }
    }
    // A window created after the watermark passed its end fires in `changed`, right after its first event.
    if (this.wm < end) {
      this.fireQ[level]!.add(end, slot);
      if (end < this.nextDue) this.nextDue = end;
    }
    return slot;
  }

  /** A window's data changed (an event at level 0, a child at higher levels): emit what the mode asks for. */
  private changed(slot: Slot<Acc, Out>): void {
    if (slot.final) {
      // A correction inside grace.
      if (slot.level > 0) slot.acc = this.fold(slot);
      this.emitIfChanged(slot);
    } else if (this.wm >= slot.end) {
      // Created late (inside grace): it is already due.
      this.fire(slot);
    } else if (this.update) {
      if (this.throttle > 0) {
        if (!slot.dirty) {
          slot.dirty = true;
          this.dirtyList.push(slot);
        }
        return;
      }
      if (slot.level > 0) slot.acc = this.fold(slot);
      this.emitIfChanged(slot);
    } else {
      return;
    }
    const parents = slot.parents;
    if (parents !== null) for (let i = 0; i < parents.length; i++) this.changed(parents[i]!);
  }

  private fire(slot: Slot<Acc, Out>): void {
    if (slot.level > 0) slot.acc = this.fold(slot);
    slot.final = true;
    slot.dirty = false;
    slot.rev++;
    const out = this.agg.result(slot.acc, slot);
    slot.lastOut = out;
    this.next.push(out);
    const purgeAt = slot.end + this.grace;
    this.purgeQ[slot.level]!.add(purgeAt, slot);
    if (purgeAt < this.nextDue) this.nextDue = purgeAt;
  }

  private emitIfChanged(slot: Slot<Acc, Out>): void {
    slot.rev++;
    const out = this.agg.result(slot.acc, slot);
    if (slot.lastOut !== undefined && this.agg.same(slot.lastOut, out)) {
      slot.rev--;
      return;
    }
    slot.lastOut = out;
    this.next.push(out);
  }

  /** Accumulator of a higher-level window: purged children's merged part plus the open children. */
  private fold(slot: Slot<Acc, Out>): Acc {
    const agg = this.agg;
    const acc = agg.create();
    if (slot.closedPart !== null) agg.merge(acc, slot.closedPart);
    const children = slot.children!;
    for (let i = 0; i < children.length; i++) agg.merge(acc, children[i]!.acc);
    return acc;
  }

  private flushDirty(): void {
    const list = this.dirtyList;
    this.dirtyList = [];
    for (let i = 0; i < list.length; i++) {
      const slot = list[i]!;
      if (!slot.dirty) continue;
      slot.dirty = false;
      if (slot.purged || slot.final) continue;
      this.emitUpdateChain(slot);
    }
  }

  private emitUpdateChain(slot: Slot<Acc, Out>): void {
    if (slot.level > 0) slot.acc = this.fold(slot);
    this.emitIfChanged(slot);
    const parents = slot.parents;
    if (parents !== null) {
      for (let i = 0; i < parents.length; i++) {
        const p = parents[i]!;
        if (!p.final && !p.purged) this.emitUpdateChain(p);
      }
    }
  }

  /** Fires and purges everything due at `wm`, earliest time first; at equal times fires before purges, lower levels first. */
  private process(wm: number): void {
    const L = this.levels.length;
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
          const slot = group[i]!;
          if (!slot.final && !slot.purged) this.fire(slot);
        }
      } else {
        const group = this.purgeQ[bestLevel]!.shift();
        for (let i = 0; i < group.length; i++) this.purge(group[i]!);
      }
    }
  }

  private purge(slot: Slot<Acc, Out>): void {
    if (slot.purged) return;
    slot.purged = true;
    const ks = slot.keyState;
    removeFrom(ks.open[slot.level]!, slot);
    if (ks.cur === slot) ks.cur = null;
    const parents = slot.parents;
    if (parents !== null) {
      const agg = this.agg;
      for (let i = 0; i < parents.length; i++) {
        const p = parents[i]!;
        if (p.purged) continue;
        if (p.closedPart === null) p.closedPart = agg.create();
        agg.merge(p.closedPart, slot.acc);
        removeFrom(p.children!, slot);
      }
    }
    slot.parents = null;
    slot.children = null;
    slot.closedPart = null;
    slot.lastOut = undefined;
  }
}

function findSlot<Acc, Out>(slots: Slot<Acc, Out>[], start: number): Slot<Acc, Out> | undefined {
  for (let i = slots.length - 1; i >= 0; i--) {
    const s = slots[i]!;
    if (s.start === start) return s;
  }
  return undefined;
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
