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
 * are recycled; every array grows by doubling. WindowLifecycle
 * (windowLifecycle.ts) adds creating, firing, rolling up and purging windows
 * on top, WindowStage (windowStage.ts) the event path. The tables and lookups
 * are public because the checkpoint functions (windowSnapshot.ts) read and
 * refill them; only the allocator's bookkeeping is protected. The class is
 * internal to this package (no entry exports it).
 */
export abstract class WindowTables<In, Out> extends Stage<In, Out> {
  // ---- keys ----
  readonly keyIds = new Map<string, number>();
  keyNames: string[] = [];
  /** Current level-0 window of each key: [start, end) and window id (fast path). */
  kCurStart = new Float64Array(64);
  kCurEnd = new Float64Array(64);
  kCurW = new Int32Array(64);
  /** Head of each key's list of open windows, per level: kOpen[k * L + level]. */
  kOpen: Int32Array;
  /** The watermark input each key's events come on (NONE before the first, MIXED when several). */
  kInput = new Int32Array(64).fill(NONE);

  // ---- windows ----
  wStart = new Float64Array(256);
  wEnd = new Float64Array(256);
  wKey = new Int32Array(256);
  wLevel = new Int32Array(256);
  /** Events folded into the window (its children's, for levels > 0): the version is 2 × this + final. */
  wCount = new Float64Array(256);
  /** Events of purged children already merged into `wClosed` (levels > 0). */
  wClosedCount = new Float64Array(256);
  /** Version of the last emission (−1 before the first). */
  wLastRev = new Float64Array(256);
  wFlags = new Uint8Array(256);
  wAcc = new Int32Array(256);
  /** Next window in the key's open list of the same level. */
  wNextOpen = new Int32Array(256);
  /** Merged accumulator of purged children (levels > 0), or NONE. */
  wClosed = new Int32Array(256);
  /** Parents per window: wParents[w * D + d] for each dependent level d (NONE when absent). */
  wParents: Int32Array;
  /** Open children of higher-level windows. */
  wChildren: (number[] | null)[] = [];
  /** Last emitted result, kept only while corrections or updates can follow. */
  wLastOut: (Out | undefined)[] = [];
  protected wCap = 256;
  protected wTop = 0;
  protected wFree: number[] = [];
  protected openCount = 0;

  /**
   * @param L levels of windows (open lists per key and level)
   * @param D most levels that roll up from one level (parent links per window)
   */
  protected constructor(
    readonly L: number,
    readonly D: number,
  ) {
    super();
    this.kOpen = new Int32Array(64 * L).fill(NONE);
    this.wParents = new Int32Array(this.wCap * D).fill(NONE);
  }

  /** Number of keys with state (for tests and metrics). */
  get keyCount(): number {
    return this.keyNames.length;
  }

  /** Number of open windows over all keys and levels (for tests and metrics). */
  get openWindows(): number {
    return this.openCount;
  }

  newKey(key: string): number {
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

  allocWindow(): number {
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
  setCurrent(k: number, w: number): void {
    this.kCurW[k] = w;
    if (w === NONE || (this.wFlags[w]! & FINAL) !== 0) {
      this.kCurStart[k] = Number.POSITIVE_INFINITY;
      this.kCurEnd[k] = Number.NEGATIVE_INFINITY;
    } else {
      this.kCurStart[k] = this.wStart[w]!;
      this.kCurEnd[k] = this.wEnd[w]!;
    }
  }

  findOpen(k: number, level: number, start: number): number {
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
