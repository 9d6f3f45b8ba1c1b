import type { KeySelector, TradeColumns } from '@tickflow/core';
import type { BuildContext, StageContext, WatermarkTracker } from '@tickflow/core/extend';
import { SIDE_BUY, SIDE_SELL, tradeAt } from '@tickflow/core/extend';
import type { Aggregator, FastRun } from '../aggregator.js';
import { PackedArena } from './accArena.js';
import { WindowLifecycle } from './windowLifecycle.js';
import type { EmitSpec, LevelSpec } from './windowLevels.js';
import type { WindowSnapshot } from './windowSnapshot.js';
import { restoreWindows, snapshotWindows } from './windowSnapshot.js';
import { MIXED, NONE } from './windowTables.js';

export type { EmitSpec, LevelSpec } from './windowLevels.js';
export type { WindowSnapshot } from './windowSnapshot.js';

const EMPTY = new Float64Array(0);
/** Slots of the per-event key cache, minus one (a power of two). */
const KEY_CACHE_MASK = 1023;

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
 *
 * The classes beneath it: WindowTables (windowTables.ts, the keys and windows
 * as typed arrays) and WindowLifecycle (windowLifecycle.ts, creating, firing,
 * rolling up, emitting and purging windows); this class is the event path.
 * Checkpoints are windowSnapshot.ts.
 */
export class WindowStage<In, Out> extends WindowLifecycle<In, Out> {
  override readonly columnar: boolean;
  private readonly keyOf: (event: In) => string;
  private readonly keyIsSymbol: boolean;
  private readonly tsOf: ((event: In) => number) | undefined;
  /** The arena when it is packed (the hot paths call the packed aggregator directly), else null. */
  private readonly packedArena: PackedArena<In, Out> | null;
  private readonly size0: number;
  private readonly hop0: number;
  private readonly ctx: StageContext;
  /** The watermark input of the events being pushed (`setInput`). */
  private curInput = 0;
  /** True once the pipeline has several inputs: lateness is then also judged on the event's own input. */
  private multi = false;
  private readonly tracker: WatermarkTracker;
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
    name: string,
    levels: readonly LevelSpec[],
    grace: number,
    emit: EmitSpec,
    agg: Aggregator<In, unknown, Out>,
    ctx: BuildContext,
    key: KeySelector<unknown>,
  ) {
    super(name, levels, grace, emit, agg);
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
    this.packedArena = this.arena instanceof PackedArena ? (this.arena as PackedArena<In, Out>) : null;
    const l0 = levels[0]!;
    this.size0 = l0.size;
    this.hop0 = l0.hop;
    if (this.update && this.throttle > 0) ctx.requestTick(this.throttle);
    this.columnar = this.keyIsSymbol && this.tsOf === undefined && this.arena.columnar;
    this.rowAdd = this.columnar && !this.update && this.packedArena !== null && typeof this.packedArena.p.addRow === 'function';
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

  /** The open windows of `input`'s keys (see snapshotWindows in windowSnapshot.ts). */
  override snapshot(input: number): WindowSnapshot {
    return snapshotWindows(this, input);
  }

  /** Restores what `snapshot` returned as the state of `input`'s keys (see restoreWindows in windowSnapshot.ts). */
  override restore(input: number, state: unknown): void {
    restoreWindows(this, input, state);
  }

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
}
