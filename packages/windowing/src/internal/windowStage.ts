import type { BuildContext, KeySelector, StageContext, TradeColumns, WatermarkTracker } from '@tickflow/core';
import { Stage, tradeAt } from '@tickflow/core';
import type { Aggregator, WindowRef } from '../aggregator.js';
import type { AccArena } from './accArena.js';
import { arenaFor } from './accArena.js';
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

const NONE = -1;

/** The open state of one window for one key; its accumulator lives in the arena under handle `h`. */
export class Slot<Out> implements WindowRef {
  rev = 0;
  final = false;
  dirty = false;
  purged = false;
  lastOut: Out | undefined = undefined;
  /** Windows of higher levels this one rolls up into. */
  parents: Slot<Out>[] | null = null;
  /** Open windows of the source level that roll up into this one (levels > 0). */
  children: Slot<Out>[] | null = null;
  /** Handle of the merged accumulator of children already purged (levels > 0), or NONE. */
  closedPart = NONE;

  constructor(
    public keyState: KeyState<Out>,
    public level: number,
    public timeframe: string,
    public start: number,
    public end: number,
    public h: number,
  ) {}

  get key(): string {
    return this.keyState.key;
  }
}

/**
 * Per-key state. The current level-0 window is cached as plain numbers
 * (`curStart`, `curEnd`, `curH`) so the hot path reads one object; it is
 * cleared when that window fires, so later events for it take the slow path.
 */
export class KeyState<Out> {
  curStart = Number.POSITIVE_INFINITY;
  curEnd = Number.NEGATIVE_INFINITY;
  curH = NONE;
  cur: Slot<Out> | null = null;
  /** Index of this key in the current columnar dictionary, or NONE. */
  dictId = NONE;
  dictVersion = NONE;
  readonly open: Slot<Out>[][];

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
export class WindowStage<In, Out> extends Stage<In, Out> {
  override readonly columnar: boolean;

  private readonly keys = new Map<string, KeyState<Out>>();
  private readonly keyOf: (event: In) => string;
  private readonly tsOf: ((event: In) => number) | undefined;
  private readonly arena: AccArena<In, Out>;
  private readonly same: (a: Out, b: Out) => boolean;
  private readonly fireQ: TimeQueue<Slot<Out>>[];
  private readonly purgeQ: TimeQueue<Slot<Out>>[];
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
  private dirtyList: Slot<Out>[] = [];
  /** Purged windows kept for reuse (bounded). */
  private readonly pool: Slot<Out>[] = [];
  /**
   * Columnar fast path: per dictionary index, the key's current window range
   * and accumulator handle, so a row costs two typed-array reads before its add.
   */
  private dict: readonly string[] | null = null;
  private dictVersion = 0;
  /** [curStart, curEnd] per dictionary index. */
  private fast = new Float64Array(0);
  /** curH per dictionary index: an Int32Array so the handle stays a small integer (a double index is far slower). */
  private fastH = new Int32Array(0);
  private dictKeys: (KeyState<Out> | undefined)[] = [];

  constructor(
    private readonly name: string,
    private readonly levels: readonly LevelSpec[],
    private readonly grace: number,
    emit: EmitSpec,
    agg: Aggregator<In, unknown, Out>,
    ctx: BuildContext,
    key: KeySelector<unknown>,
  ) {
    super();
    this.ctx = ctx;
    this.keyOf = key.of as (e: In) => string;
    this.tsOf = ctx.timestamp as ((e: In) => number) | undefined;
    this.arena = arenaFor(agg);
    this.same = (a, b) => agg.same(a, b);
    this.fireQ = levels.map(() => new TimeQueue<Slot<Out>>());
    this.purgeQ = levels.map(() => new TimeQueue<Slot<Out>>());
    this.dependents = levels.map((_, i) => levels.flatMap((l, j) => (l.source === i && j !== i ? [j] : [])));
    const l0 = levels[0]!;
    this.size0 = l0.size;
    this.hop0 = l0.hop;
    this.tumbling0 = l0.size === l0.hop;
    this.update = emit.update;
    this.throttle = emit.throttle;
    if (this.update && this.throttle > 0) ctx.requestTick(this.throttle);
    this.columnar = key.field === 'symbol' && this.tsOf === undefined && this.arena.columnar;
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
    if (ts >= ks.curStart && ts < ks.curEnd) {
      this.arena.add(ks.curH, event, this.seq++);
      if (this.update) this.changed(ks.cur!);
      return;
    }
    this.pushSlow(ks, event, ts, null, 0);
  }

  override pushColumns(cols: TradeColumns, input: number, tracker: WatermarkTracker): void {
    if (!this.columnar) {
      super.pushColumns(cols, input, tracker);
      return;
    }
    const symbols = cols.symbols;
    if (symbols !== this.dict) this.resetDictionary(symbols);
    else if (this.fastH.length < symbols.length) this.growDictionary(symbols.length);
    const ids = cols.symbol;
    const tsCol = cols.ts;
    const n = cols.length;
    const arena = this.arena;
    const update = this.update;
    let fast = this.fast;
    let fastH = this.fastH;
    let seq = this.seq;
    for (let i = 0; i < n; i++) {
      const ts = tsCol[i]!;
      // Same order as the row path: observe, add (lateness judged on the previous watermark), then advance.
      const wm = tracker.observe(input, ts);
      const id = ids[i]!;
      const j = id << 1;
      if (ts >= fast[j]! && ts < fast[j + 1]!) {
        arena.addColumns(fastH[id]!, cols, i, seq++);
        if (update) {
          this.seq = seq;
          this.changed(this.dictKeys[id]!.cur!);
        }
      } else {
        let ks = this.dictKeys[id];
        if (ks === undefined) {
          const key = symbols[id]!;
          ks = this.keys.get(key) ?? this.newKey(key);
          this.dictKeys[id] = ks;
          ks.dictId = id;
          ks.dictVersion = this.dictVersion;
          this.setCurrent(ks, ks.cur);
        }
        this.seq = seq;
        this.pushSlow(ks, undefined as unknown as In, ts, cols, i);
        seq = this.seq;
        fast = this.fast;
        fastH = this.fastH;
      }
      if (wm > this.wm) {
        this.seq = seq;
        this.advanceOwn(wm);
        fast = this.fast;
        fastH = this.fastH;
      }
    }
    this.seq = seq;
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

  private resetDictionary(symbols: readonly string[]): void {
    this.dict = symbols;
    this.dictVersion++;
    this.dictKeys = [];
    this.fast = new Float64Array(0);
    this.fastH = new Int32Array(0);
    this.growDictionary(symbols.length);
  }

  private growDictionary(size: number): void {
    const n = Math.max(size, 16);
    const fast = new Float64Array(n * 2);
    fast.set(this.fast);
    // Unknown keys: an empty range, so their first row takes the slow path.
    for (let j = this.fast.length; j < fast.length; j += 2) {
      fast[j] = Number.POSITIVE_INFINITY;
      fast[j + 1] = Number.NEGATIVE_INFINITY;
    }
    const fastH = new Int32Array(n);
    fastH.set(this.fastH);
    this.fast = fast;
    this.fastH = fastH;
  }

  private advanceOwn(wm: number): void {
    this.wm = wm;
    if (wm >= this.nextDue) this.process(wm);
  }

  private newKey(key: string): KeyState<Out> {
    const ks = new KeyState<Out>(key, this.levels.length);
    this.keys.set(key, ks);
    return ks;
  }

  /** Points a key's fast path at `slot` (or at nothing), in the key state and the columnar table. */
  private setCurrent(ks: KeyState<Out>, slot: Slot<Out> | null): void {
    ks.cur = slot;
    if (slot === null || slot.final) {
      ks.curStart = Number.POSITIVE_INFINITY;
      ks.curEnd = Number.NEGATIVE_INFINITY;
      ks.curH = NONE;
    } else {
      ks.curStart = slot.start;
      ks.curEnd = slot.end;
      ks.curH = slot.h;
    }
    if (ks.dictVersion === this.dictVersion && ks.dictId !== NONE) {
      const j = ks.dictId << 1;
      this.fast[j] = ks.curStart;
      this.fast[j + 1] = ks.curEnd;
      this.fastH[ks.dictId] = ks.curH;
    }
  }

  /** Adds an event (or a columnar row when `cols` is set) outside the current window of its key. */
  private pushSlow(ks: KeyState<Out>, event: In, ts: number, cols: TradeColumns | null, row: number): void {
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
      if (cols !== null) this.arena.addColumns(slot.h, cols, row, seq);
      else this.arena.add(slot.h, event, seq);
      if (this.tumbling0 && slot !== ks.cur) this.setCurrent(ks, slot);
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

  private createSlot(ks: KeyState<Out>, level: number, start: number, end: number): Slot<Out> {
    const slot = this.newSlot(ks, level, start, end);
    ks.open[level]!.push(slot);
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

  private newSlot(ks: KeyState<Out>, level: number, start: number, end: number): Slot<Out> {
    const label = this.levels[level]!.label;
    const h = this.arena.alloc();
    let slot = this.pool.pop();
    if (slot === undefined) {
      slot = new Slot<Out>(ks, level, label, start, end, h);
    } else {
      slot.keyState = ks;
      slot.level = level;
      slot.timeframe = label;
      slot.start = start;
      slot.end = end;
      slot.h = h;
      slot.rev = 0;
      slot.final = false;
      slot.dirty = false;
      slot.purged = false;
    }
    if (level > 0) slot.children = [];
    return slot;
  }

  /** A window's data changed (an event at level 0, a child at higher levels): emit what the mode asks for. */
  private changed(slot: Slot<Out>): void {
    if (slot.final) {
      // A correction inside grace.
      if (slot.level > 0) this.fold(slot);
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
      if (slot.level > 0) this.fold(slot);
      this.emitIfChanged(slot);
    } else {
      return;
    }
    const parents = slot.parents;
    if (parents !== null) for (let i = 0; i < parents.length; i++) this.changed(parents[i]!);
  }

  private fire(slot: Slot<Out>): void {
    if (slot.level > 0) this.fold(slot);
    slot.final = true;
    slot.dirty = false;
    slot.rev++;
    if (slot.keyState.cur === slot) this.setCurrent(slot.keyState, slot);
    const out = this.arena.result(slot.h, slot);
    // Kept only while corrections are possible (to suppress unchanged ones).
    if (this.grace > 0) slot.lastOut = out;
    this.next.push(out);
    const purgeAt = slot.end + this.grace;
    this.purgeQ[slot.level]!.add(purgeAt, slot);
    if (purgeAt < this.nextDue) this.nextDue = purgeAt;
  }

  private emitIfChanged(slot: Slot<Out>): void {
    slot.rev++;
    const out = this.arena.result(slot.h, slot);
    if (slot.lastOut !== undefined && this.same(slot.lastOut, out)) {
      slot.rev--;
      return;
    }
    slot.lastOut = out;
    this.next.push(out);
  }

  /** Recomputes a higher-level window: purged children's merged part plus the open children. */
  private fold(slot: Slot<Out>): void {
    const arena = this.arena;
    arena.release(slot.h);
    const h = arena.alloc();
    if (slot.closedPart !== NONE) arena.merge(h, slot.closedPart);
    const children = slot.children!;
    for (let i = 0; i < children.length; i++) arena.merge(h, children[i]!.h);
    slot.h = h;
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

  private emitUpdateChain(slot: Slot<Out>): void {
    if (slot.level > 0) this.fold(slot);
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

  private purge(slot: Slot<Out>): void {
    if (slot.purged) return;
    slot.purged = true;
    const ks = slot.keyState;
    removeFrom(ks.open[slot.level]!, slot);
    if (ks.cur === slot) this.setCurrent(ks, null);
    const parents = slot.parents;
    const arena = this.arena;
    if (parents !== null) {
      for (let i = 0; i < parents.length; i++) {
        const p = parents[i]!;
        if (p.purged) continue;
        if (p.closedPart === NONE) p.closedPart = arena.alloc();
        arena.merge(p.closedPart, slot.h);
        removeFrom(p.children!, slot);
      }
    }
    arena.release(slot.h);
    if (slot.closedPart !== NONE) arena.release(slot.closedPart);
    slot.h = NONE;
    slot.closedPart = NONE;
    slot.parents = null;
    slot.children = null;
    slot.lastOut = undefined;
    slot.dirty = false;
    // Children never outlive their parents (same grace, children purge first), so a purged slot is unreferenced.
    if (this.pool.length < 65_536) this.pool.push(slot);
  }
}

function findSlot<Out>(slots: Slot<Out>[], start: number): Slot<Out> | undefined {
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
