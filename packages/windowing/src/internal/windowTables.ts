import { Stage } from '@tickflow/core/extend';

/** No key, window or accumulator. */
export const NONE = -1;
/** `kInput` of a key whose events came on several inputs. */
export const MIXED = -2;
/** Window flags: final (the watermark passed its end), dirty (a throttled update is pending), purged. */
export const FINAL = 1;
export const DIRTY = 2;
export const PURGED = 4;

/**
 * The keys and windows of a window stage as dense integer ids into typed
 * arrays (struct of arrays), with their allocation, growth and lookups. Ids
 * are recycled; every array grows by doubling. WindowStage (windowStage.ts)
 * adds the event path, firing, rollups, emission and checkpoints on top.
 */
export abstract class WindowTables<In, Out> extends Stage<In, Out> {
  // ---- keys ----
  protected readonly keyIds = new Map<string, number>();
  protected keyNames: string[] = [];
  /** Current level-0 window of each key: [start, end) and window id (fast path). */
  protected kCurStart = new Float64Array(64);
  protected kCurEnd = new Float64Array(64);
  protected kCurW = new Int32Array(64);
  /** Head of each key's list of open windows, per level: kOpen[k * L + level]. */
  protected kOpen: Int32Array;
  /** The watermark input each key's events come on (NONE before the first, MIXED when several). */
  protected kInput = new Int32Array(64).fill(NONE);

  // ---- windows ----
  protected wStart = new Float64Array(256);
  protected wEnd = new Float64Array(256);
  protected wKey = new Int32Array(256);
  protected wLevel = new Int32Array(256);
  /** Events folded into the window (its children's, for levels > 0): the version is 2 × this + final. */
  protected wCount = new Float64Array(256);
  /** Events of purged children already merged into `wClosed` (levels > 0). */
  protected wClosedCount = new Float64Array(256);
  /** Version of the last emission (−1 before the first). */
  protected wLastRev = new Float64Array(256);
  protected wFlags = new Uint8Array(256);
  protected wAcc = new Int32Array(256);
  /** Next window in the key's open list of the same level. */
  protected wNextOpen = new Int32Array(256);
  /** Merged accumulator of purged children (levels > 0), or NONE. */
  protected wClosed = new Int32Array(256);
  /** Parents per window: wParents[w * D + d] for each dependent level d (NONE when absent). */
  protected wParents: Int32Array;
  /** Open children of higher-level windows. */
  protected wChildren: (number[] | null)[] = [];
  /** Last emitted result, kept only while corrections or updates can follow. */
  protected wLastOut: (Out | undefined)[] = [];
  protected wCap = 256;
  protected wTop = 0;
  protected wFree: number[] = [];
  protected openCount = 0;

  /**
   * @param L levels of windows (open lists per key and level)
   * @param D most levels that roll up from one level (parent links per window)
   */
  protected constructor(
    protected readonly L: number,
    protected readonly D: number,
  ) {
    super();
    this.kOpen = new Int32Array(64 * L).fill(NONE);
    this.wParents = new Int32Array(this.wCap * D).fill(NONE);
  }

  protected newKey(key: string): number {
    const k = this.keyNames.length;
    this.keyNames.push(key);
    this.keyIds.set(key, k);
    if (k === this.kCurW.length) {
      const cap = k * 2;
      this.kCurStart = grow(this.kCurStart, cap, Number.POSITIVE_INFINITY);
      this.kCurEnd = grow(this.kCurEnd, cap, Number.NEGATIVE_INFINITY);
      this.kCurW = growI(this.kCurW, cap, NONE);
      this.kOpen = growI(this.kOpen, cap * this.L, NONE);
      this.kInput = growI(this.kInput, cap, NONE);
    }
    this.kCurStart[k] = Number.POSITIVE_INFINITY;
    this.kCurEnd[k] = Number.NEGATIVE_INFINITY;
    this.kCurW[k] = NONE;
    this.kInput[k] = NONE;
    for (let l = 0; l < this.L; l++) this.kOpen[k * this.L + l] = NONE;
    return k;
  }

  protected allocWindow(): number {
    const free = this.wFree.pop();
    if (free !== undefined) return free;
    const w = this.wTop++;
    if (w === this.wCap) {
      const cap = this.wCap * 2;
      this.wStart = grow(this.wStart, cap, 0);
      this.wEnd = grow(this.wEnd, cap, 0);
      this.wKey = growI(this.wKey, cap, 0);
      this.wLevel = growI(this.wLevel, cap, 0);
      this.wCount = grow(this.wCount, cap, 0);
      this.wClosedCount = grow(this.wClosedCount, cap, 0);
      this.wLastRev = grow(this.wLastRev, cap, -1);
      const flags = new Uint8Array(cap);
      flags.set(this.wFlags);
      this.wFlags = flags;
      this.wAcc = growI(this.wAcc, cap, NONE);
      this.wNextOpen = growI(this.wNextOpen, cap, NONE);
      this.wClosed = growI(this.wClosed, cap, NONE);
      this.wParents = growI(this.wParents, cap * this.D, NONE);
      this.wCap = cap;
    }
    return w;
  }

  /** Points a key's fast path at window `w`, or at nothing (NONE, or a final window). */
  protected setCurrent(k: number, w: number): void {
    this.kCurW[k] = w;
    if (w === NONE || (this.wFlags[w]! & FINAL) !== 0) {
      this.kCurStart[k] = Number.POSITIVE_INFINITY;
      this.kCurEnd[k] = Number.NEGATIVE_INFINITY;
    } else {
      this.kCurStart[k] = this.wStart[w]!;
      this.kCurEnd[k] = this.wEnd[w]!;
    }
  }

  protected findOpen(k: number, level: number, start: number): number {
    let w = this.kOpen[k * this.L + level]!;
    while (w !== NONE) {
      if (this.wStart[w] === start) return w;
      w = this.wNextOpen[w]!;
    }
    return NONE;
  }
}

export function grow(a: Float64Array, cap: number, fill: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(cap).fill(fill);
  b.set(a);
  return b;
}

export function growI(a: Int32Array, cap: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap).fill(fill);
  b.set(a);
  return b;
}
