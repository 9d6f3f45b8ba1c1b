import type { KeySelector, TradeColumns } from '@tickflow/core';
import type { BuildContext, StageContext, WatermarkTracker } from '@tickflow/core/extend';
import { TickflowError } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL, tradeAt } from '@tickflow/core/extend';
import type { Aggregator, FastRun, WindowRef } from '../aggregator.js';
import type { AccArena } from './accArena.js';
import { PackedArena, arenaFor } from './accArena.js';
import { TimeQueue } from './timeQueue.js';
import { DIRTY, FINAL, MIXED, NONE, PURGED, WindowTables } from './windowTables.js';

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

const EMPTY = new Float64Array(0);
/** Slots of the per-event key cache, minus one (a power of two). */
const KEY_CACHE_MASK = 1023;

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

/** The WindowRef handed to `result`: one object, refilled before each call. */
class MutableWindowRef implements WindowRef {
  key = '';
  timeframe = '';
  start = 0;
  end = 0;
  final = false;
  rev = 0;
}

/**
 * The event-time window engine behind `tumbling` and `hopping`.
 *
 * Per key, level-0 windows aggregate events; higher levels (multi-timeframe)
 * merge the accumulators of the level they roll up from. A window fires
 * (emits with final = true) when the watermark reaches its end, stays open for
 * corrections until end + grace, then is purged and its state released.
 * Events for a purged window go to the late output.
 *
 * Layout: keys and windows are dense integer ids into typed arrays (struct of
 * arrays), ids are recycled, accumulators live in an arena. With thousands of
 * symbols the whole working set stays a few MB and contiguous, which matters
 * more than anything else here: a cache miss to main memory costs 100+ ns,
 * while a window's whole life (create, fire, purge) is a few hundred ns of work.
 */
export class WindowStage<In, Out> extends WindowTables<In, Out> {
  override readonly columnar: boolean;


  private readonly keyOf: (event: In) => string;
  private readonly keyIsSymbol: boolean;
  private readonly tsOf: ((event: In) => number) | undefined;
  private readonly arena: AccArena<In, Out>;
  /** The arena when it is packed (the hot paths call the packed aggregator directly), else null. */
  private readonly packedArena: PackedArena<In, Out> | null;
  private readonly same: (a: Out, b: Out) => boolean;
  private readonly fireQ: TimeQueue<number>[];
  private readonly purgeQ: TimeQueue<number>[];
  /** Levels whose source is level i. */
  private readonly dependents: number[][];
  /** Index d of level j among the dependents of its source. */
  private readonly depIndex: number[];
  private readonly size0: number;
  private readonly hop0: number;
  private readonly tumbling0: boolean;
  private readonly update: boolean;
  private readonly throttle: number;
  private readonly keepLastOut: boolean;
  private readonly ctx: StageContext;
  private readonly ref = new MutableWindowRef();
  private wm = Number.NEGATIVE_INFINITY;
  private nextDue = Number.POSITIVE_INFINITY;
  private seq = 0;
  /** The watermark input of the events being pushed (`setInput`). */
  private curInput = 0;
  /** True once the pipeline has several inputs: lateness is then also judged on the event's own input. */
  private multi = false;
  private readonly tracker: WatermarkTracker;
  private dirtyList: number[] = [];
  /** Columnar dictionary → key id. */
  private dict: readonly string[] | null = null;
  private dictKey = new Int32Array(0);
  /**
   * Direct-mapped cache of key → key id, by the last two characters and the
   * length (symbols differ most at the end). Key ids never change, so an
   * entry is never stale; a collision only costs the Map lookup.
   */
  private readonly keyCacheStr: (string | undefined)[] = new Array<string | undefined>(KEY_CACHE_MASK + 1).fill(undefined);
  private readonly keyCacheId = new Int32Array(KEY_CACHE_MASK + 1);
  /** The tables handed to a packed aggregator's fused kernel (`pushColumns`). */
  private readonly fastRun: FastRun;
  /**
   * Per-event path of a packed aggregator with `addRow` and final-only
   * emission: the fast path calls `addRow` directly, which V8 inlines.
   */
  private readonly rowAdd: boolean;

  constructor(
    private readonly name: string,
    private readonly levels: readonly LevelSpec[],
    private readonly grace: number,
    emit: EmitSpec,
    agg: Aggregator<In, unknown, Out>,
    ctx: BuildContext,
    key: KeySelector<unknown>,
  ) {
    super(levels.length, maxDependents(levels));
    this.ctx = ctx;
    this.tracker = ctx.watermarks;
    this.fastRun = {
      ids: new Uint32Array(0),
      dictKey: new Int32Array(0),
      kInput: new Int32Array(0),
      curStart: new Float64Array(0),
      curEnd: new Float64Array(0),
      curW: new Int32Array(0),
      wAcc: new Int32Array(0),
      wCount: new Float64Array(0),
      stride: 0,
      input: 0,
      watermarks: this.tracker,
      due: 0.5,
      maxTs: 0.5,
      // Doubles from the start (seq may pass the small-integer range), so the field never changes representation.
      seq: 0.5,
    };
    this.keyOf = key.of as (e: In) => string;
    this.keyIsSymbol = key.field === 'symbol';
    this.tsOf = ctx.timestamp as ((e: In) => number) | undefined;
    this.arena = arenaFor(agg);
    this.packedArena = this.arena instanceof PackedArena ? (this.arena as PackedArena<In, Out>) : null;
    this.same = (a, b) => agg.same(a, b);
    this.fireQ = levels.map(() => new TimeQueue<number>());
    this.purgeQ = levels.map(() => new TimeQueue<number>());
    this.dependents = levels.map((_, i) => levels.flatMap((l, j) => (l.source === i && j !== i ? [j] : [])));
    this.depIndex = levels.map((l, j) => (l.source < 0 ? NONE : this.dependents[l.source]!.indexOf(j)));
    const l0 = levels[0]!;
    this.size0 = l0.size;
    this.hop0 = l0.hop;
    this.tumbling0 = l0.size === l0.hop;
    this.update = emit.update;
    this.throttle = emit.throttle;
    this.keepLastOut = grace > 0 || emit.update;
    if (this.update && this.throttle > 0) ctx.requestTick(this.throttle);
    this.columnar = this.keyIsSymbol && this.tsOf === undefined && this.arena.columnar;
    this.rowAdd = this.columnar && !this.update && this.packedArena !== null && typeof this.packedArena.p.addRow === 'function';
  }

  /** Number of keys with state (for tests and metrics). */
  get keyCount(): number {
    return this.keyNames.length;
  }

  /** Number of open windows over all keys and levels (for tests and metrics). */
  get openWindows(): number {
    return this.openCount;
  }

  push(event: In): void {
    const key = this.keyIsSymbol ? (event as unknown as { symbol: string }).symbol : this.keyOf(event);
    // The key cache first: a Map lookup was the largest single cost of the per-event path.
    let k: number;
    const len = typeof key === 'string' ? key.length : 0;
    if (len >= 2) {
      const slot = (key.charCodeAt(len - 1) * 31 + key.charCodeAt(len - 2) * 7 + len) & KEY_CACHE_MASK;
      if (this.keyCacheStr[slot] === key) k = this.keyCacheId[slot]!;
      else {
        k = this.keyIds.get(key) ?? this.newKey(key);
        this.keyCacheStr[slot] = key;
        this.keyCacheId[slot] = k;
      }
    } else {
      k = this.keyIds.get(key) ?? this.newKey(key);
    }
    const ts = this.tsOf === undefined ? (event as unknown as { ts: number }).ts : this.tsOf(event);
    if (this.kInput[k] !== this.curInput) this.noteInput(k);
    if (ts >= this.kCurStart[k]! && ts < this.kCurEnd[k]! && !(this.multi && this.ownLate(this.kCurEnd[k]!))) {
      const w = this.kCurW[k]!;
      this.wCount[w]!++;
      if (this.rowAdd) {
        // The trade's numbers straight to the packed add (inlined; a row as TradeColumns would hold it).
        const t = event as unknown as { price: number; size: number; side?: string };
        const side = t.side;
        const packed = this.packedArena!;
        // The side code by arithmetic on the comparisons, not a branch: sides are a coin toss.
        packed.p.addRow!(packed.s, this.wAcc[w]! * packed.stride, ts, t.price, t.size, SIDE_BUY * Number(side === 'buy') + SIDE_SELL * Number(side === 'sell'), this.seq++);
        return;
      }
      this.arena.add(this.wAcc[w]!, event, this.seq++);
      if (this.update) this.changed(w);
      return;
    }
    this.pushSlow(k, event, ts, null, 0);
  }

  override setInput(input: number): void {
    this.curInput = input;
    this.multi = this.tracker.inputs > 1;
  }

  /**
   * True when the current input's own watermark has passed `end` + grace.
   * Lateness is judged on the event's own input (partition) as well as on the
   * pipeline watermark: an event late within its own partition is late
   * whatever the other partitions hold back, so the result does not depend on
   * how partitions interleave (a replay decides lateness as the first run did).
   */
  private ownLate(end: number): boolean {
    return this.tracker.watermarkOf(this.tracker.maxOf(this.curInput)) >= end + this.grace;
  }

  /** Records the input of key `k`'s events; a key seen on two inputs is MIXED (its state cannot be checkpointed per input). */
  private noteInput(k: number): void {
    this.kInput[k] = this.kInput[k] === NONE ? this.curInput : MIXED;
  }

  override pushColumns(cols: TradeColumns, input: number, tracker: WatermarkTracker): void {
    this.catchUpWm();
    if (!this.columnar) {
      super.pushColumns(cols, input, tracker);
      return;
    }
    const symbols = cols.symbols;
    if (symbols !== this.dict) {
      this.dict = symbols;
      this.dictKey = new Int32Array(Math.max(16, symbols.length)).fill(NONE);
    } else if (this.dictKey.length < symbols.length) {
      const grown = new Int32Array(symbols.length * 2).fill(NONE);
      grown.set(this.dictKey);
      this.dictKey = grown;
    }
    const dictKey = this.dictKey;
    const ids = cols.symbol;
    const tsCol = cols.ts;
    const n = cols.length;
    const arena = this.arena;
    // Packed aggregators are called directly (one call per row instead of three).
    const packedArena = this.packedArena;
    const packed = packedArena === null ? null : packedArena.p;
    const stride = packedArena === null ? 0 : packedArena.stride;
    const rowAdd = packed !== null && typeof packed.addRow === 'function';
    const priceCol = cols.price;
    const sizeCol = cols.size;
    const sideCol = cols.side ?? new Uint8Array(n);
    let state = packedArena === null ? EMPTY : packedArena.s;
    const update = this.update;
    // With one input the watermark is max(ts) − outOfOrderness: track it here and tell the tracker once.
    const single = tracker.singleInput;
    let maxTs = single ? tracker.maxEventTime(input) : 0;
    let wm = tracker.watermark;
    let seq = this.seq;
    let curStart = this.kCurStart;
    let curEnd = this.kCurEnd;
    let curW = this.kCurW;
    let wAcc = this.wAcc;
    let wCount = this.wCount;
    const curInput = input;
    this.curInput = input;
    this.multi = tracker.inputs > 1;
    const multi = this.multi;
    // The stage's watermark as of the previous row, and when the next window is due, kept in locals;
    // `this.wm` is brought up to date before anything that reads it (slow path, updates, firing).
    let wmPrev = this.wm;
    let due = this.nextDue;
    // The fused kernel takes runs of fast-path rows whole: one input, final-only emission, nothing pending to fire.
    const kernel = single && !multi && !update && packed !== null && typeof packed.addRunFast === 'function';
    const fr = this.fastRun;
    if (kernel) {
      fr.ids = ids;
      fr.input = input;
      fr.watermarks = tracker;
    }
    for (let i = 0; i < n; i++) {
      if (kernel && wm === wmPrev) {
        fr.dictKey = dictKey;
        fr.kInput = this.kInput;
        fr.curStart = curStart;
        fr.curEnd = curEnd;
        fr.curW = curW;
        fr.wAcc = wAcc;
        fr.wCount = wCount;
        fr.stride = stride;
        fr.due = due;
        fr.maxTs = maxTs;
        fr.seq = seq;
        const j = packed.addRunFast!(state, cols, i, n, fr);
        if (j > i) {
          seq = fr.seq;
          maxTs = fr.maxTs;
          const maxWm = tracker.watermarkOf(maxTs);
          if (maxWm > wm) wm = maxWm;
          if (wm > wmPrev) {
            wmPrev = wm;
            if (wm >= due) {
              this.seq = seq;
              this.advanceOwn(wm);
              wAcc = this.wAcc;
              wCount = this.wCount;
              state = packedArena!.s;
              due = this.nextDue;
            }
          }
          i = j - 1;
          continue;
        }
      }
      const ts = tsCol[i]!;
      // Same order as the row path: observe, add (lateness judged on the previous watermark), then advance.
      if (single) {
        if (ts > maxTs) {
          maxTs = ts;
          const tsWm = tracker.watermarkOf(ts);
          if (tsWm > wm) wm = tsWm;
        }
      } else {
        wm = tracker.observe(input, ts);
      }
      const id = ids[i]!;
      let k = dictKey[id]!;
      if (k === NONE) {
        const key = symbols[id]!;
        k = this.keyIds.get(key) ?? this.newKey(key);
        dictKey[id] = k;
        curStart = this.kCurStart;
        curEnd = this.kCurEnd;
        curW = this.kCurW;
      }
      if (this.kInput[k] !== curInput) this.noteInput(k);
      if (ts >= curStart[k]! && ts < curEnd[k]! && !(multi && this.ownLate(curEnd[k]!))) {
        const w = curW[k]!;
        wCount[w]!++;
        if (rowAdd) packed!.addRow!(state, wAcc[w]! * stride, ts, priceCol[i]!, sizeCol[i]!, sideCol[i]!, seq++);
        else if (packed !== null) packed.addColumns(state, wAcc[w]! * stride, cols, i, seq++);
        else arena.addColumns(wAcc[w]!, cols, i, seq++);
        if (update) {
          if (wmPrev > this.wm) this.wm = wmPrev;
          this.seq = seq;
          this.changed(w);
          due = this.nextDue;
        }
      } else {
        if (wmPrev > this.wm) this.wm = wmPrev;
        this.seq = seq;
        this.pushSlow(k, undefined as unknown as In, ts, cols, i);
        seq = this.seq;
        wAcc = this.wAcc;
        wCount = this.wCount;
        if (packedArena !== null) state = packedArena.s;
        due = this.nextDue;
      }
      if (wm > wmPrev) {
        wmPrev = wm;
        if (wm >= due) {
          this.seq = seq;
          this.advanceOwn(wm);
          wAcc = this.wAcc;
          wCount = this.wCount;
          if (packedArena !== null) state = packedArena.s;
          due = this.nextDue;
        }
      }
    }
    if (wmPrev > this.wm) this.wm = wmPrev;
    this.seq = seq;
    if (single && n > 0) tracker.observe(input, maxTs);
  }

  /**
   * With final-only emission and nothing after it but the output, the stage
   * needs `advance` only when windows are due: the job skips the other calls
   * (see Stage.advanceAt) and `catchUpWm` reads the watermark they carried.
   */
  override get advanceAt(): number {
    return this.update || !this.next.terminal ? Number.NEGATIVE_INFINITY : this.nextDue;
  }

  /** Brings `wm` up to the watermark the job has passed (advance calls below `advanceAt` are skipped). */
  private catchUpWm(): void {
    const passed = this.ctx.passedWatermark;
    if (passed > this.wm) this.wm = passed;
  }

  override advance(watermark: number): void {
    if (watermark > this.wm) this.advanceOwn(watermark);
    if (!this.next.terminal) this.next.advance(watermark);
  }

  override tick(now: number): void {
    if (this.dirtyList.length !== 0) this.flushDirty();
    this.next.tick(now);
  }

  override finish(): void {
    this.advanceOwn(Number.POSITIVE_INFINITY);
    this.next.finish();
  }

  /** Geometry string of a snapshot: what must match for a restore. */
  private geometry(): string {
    return `${this.levels.map((l) => `${l.size}/${l.hop}/${l.label}/${l.source}`).join(',')};grace=${this.grace}`;
  }

  /**
   * The open windows (all levels, fired ones still in grace included) of the
   * keys whose events came on `input`. Throws CHECKPOINT_FAILED when a key
   * with open windows came on several inputs.
   */
  override snapshot(input: number): WindowSnapshot {
    const keys: string[] = [];
    const meta: number[] = [];
    const accs: unknown[] = [];
    const arena = this.arena;
    for (let k = 0; k < this.keyNames.length; k++) {
      const ki = this.kInput[k]!;
      if (ki !== input && ki !== MIXED) continue;
      let any = false;
      // Higher levels first, so that a restore finds each window's parents already there.
      for (let level = this.L - 1; level >= 0; level--) {
        for (let w = this.kOpen[k * this.L + level]!; w !== NONE; w = this.wNextOpen[w]!) {
          if (ki === MIXED) {
            throw new TickflowError('CHECKPOINT_FAILED', `${this.name}: key ${this.keyNames[k]} arrived on several inputs (partitions), so its windows cannot be checkpointed per partition; key the topic by the window key (the symbol)`);
          }
          if (!any) {
            any = true;
            keys.push(this.keyNames[k]!);
          }
          meta.push(keys.length - 1, level, this.wStart[w]!, this.wFlags[w]! & FINAL, this.wCount[w]!, this.wClosedCount[w]!, this.wLastRev[w]!);
          accs.push(arena.exportAcc(this.wAcc[w]!), this.wClosed[w] === NONE ? null : arena.exportAcc(this.wClosed[w]!));
        }
      }
    }
    return { v: 1, geometry: this.geometry(), seq: this.seq, keys, windows: Float64Array.from(meta), accs };
  }

  /** Restores the windows of a `snapshot` as the state of `input`'s keys (before any event of theirs is pushed). */
  override restore(input: number, state: unknown): void {
    const st = state as WindowSnapshot;
    if (st === null || typeof st !== 'object' || st.v !== 1 || !(st.windows instanceof Float64Array)) {
      throw new TickflowError('CHECKPOINT_FAILED', `${this.name}: not a window checkpoint`);
    }
    if (st.geometry !== this.geometry()) {
      throw new TickflowError('CHECKPOINT_FAILED', `${this.name}: the checkpoint was taken with other windows (${st.geometry}) than this job's (${this.geometry()}); start from an older offset or a new consumer group`);
    }
    if (st.seq > this.seq) this.seq = st.seq;
    const m = st.windows;
    const arena = this.arena;
    for (let i = 0, j = 0; i < m.length; i += SNAP_FIELDS, j += 2) {
      const key = st.keys[m[i]!]!;
      let k = this.keyIds.get(key);
      if (k === undefined) k = this.newKey(key);
      const ki = this.kInput[k]!;
      this.kInput[k] = ki === NONE || ki === input ? input : MIXED;
      const level = m[i + 1]!;
      const start = m[i + 2]!;
      const end = start + this.levels[level]!.size;
      const final = m[i + 3]! !== 0;
      const w = this.allocWindow();
      this.wStart[w] = start;
      this.wEnd[w] = end;
      this.wKey[w] = k;
      this.wLevel[w] = level;
      this.wCount[w] = m[i + 4]!;
      this.wClosedCount[w] = m[i + 5]!;
      this.wLastRev[w] = m[i + 6]!;
      this.wFlags[w] = final ? FINAL : 0;
      this.wAcc[w] = arena.alloc();
      arena.importAcc(this.wAcc[w]!, st.accs[j]);
      const closed = st.accs[j + 1];
      if (closed === null || closed === undefined) this.wClosed[w] = NONE;
      else {
        this.wClosed[w] = arena.alloc();
        arena.importAcc(this.wClosed[w]!, closed);
      }
      this.wLastOut[w] = undefined;
      // A parent purges after its children, so a checkpoint that holds a window holds its parents.
      this.link(w, k, level, start, false);
      const due = final ? end + this.grace : end;
      if (final) this.purgeQ[level]!.add(due, w);
      else this.fireQ[level]!.add(due, w);
      if (due < this.nextDue) this.nextDue = due;
      // The fast path points at the newest open window of the key (any open one would do).
      if (level === 0 && this.tumbling0 && !final && (this.kCurW[k] === NONE || this.wStart[this.kCurW[k]!]! < start)) this.setCurrent(k, w);
    }
  }

  private advanceOwn(wm: number): void {
    this.wm = wm;
    if (wm >= this.nextDue) {
      this.process(wm);
    }
  }

  // ---- storage ----

  // ---- event path ----

  /** Adds an event (or a columnar row when `cols` is set) outside the current window of its key. */
  private pushSlow(k: number, event: In, ts: number, cols: TradeColumns | null, row: number): void {
    this.catchUpWm();
    const size = this.size0;
    const hop = this.hop0;
    let wm = this.wm;
    if (this.multi) {
      const own = this.tracker.watermarkOf(this.tracker.maxOf(this.curInput));
      if (own > wm) wm = own;
    }
    const grace = this.grace;
    const last = Math.floor(ts / hop) * hop;
    const seq = this.seq++;
    let added = false;
    // Windows containing ts start at last, last − hop, … > ts − size; older ones close first.
    for (let start = last; start > ts - size; start -= hop) {
      if (wm >= start + size + grace) break;
      let w = this.findOpen(k, 0, start);
      if (w === NONE) w = this.createWindow(k, 0, start, start + size);
      if (cols !== null) this.arena.addColumns(this.wAcc[w]!, cols, row, seq);
      else this.arena.add(this.wAcc[w]!, event, seq);
      this.wCount[w]!++;
      if (this.tumbling0 && this.kCurW[k] !== w) this.setCurrent(k, w);
      added = true;
      this.changed(w);
    }
    if (!added) {
      this.ctx.late({
        event: cols !== null ? tradeAt(cols, row) : event,
        key: this.keyNames[k]!,
        windowStart: last,
        windowEnd: last + size,
        watermark: wm,
        operator: this.name,
      });
    }
  }

  /**
   * Puts window `w` (key `k`, `level`, `start`) on its key's open list and
   * links it to its parents at the levels that roll up from it: a missing
   * parent is created when `createParents`, else it is a broken checkpoint.
   */
  private link(w: number, k: number, level: number, start: number, createParents: boolean): void {
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

  private createWindow(k: number, level: number, start: number, end: number): number {
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
  private changed(w: number): void {
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

  private flushDirty(): void {
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

/** The most levels that roll up from any one level (at least 1): parent links per window. */
function maxDependents(levels: readonly LevelSpec[]): number {
  let most = 1;
  for (let i = 0; i < levels.length; i++) {
    let n = 0;
    for (let j = 0; j < levels.length; j++) if (j !== i && levels[j]!.source === i) n++;
    if (n > most) most = n;
  }
  return most;
}
