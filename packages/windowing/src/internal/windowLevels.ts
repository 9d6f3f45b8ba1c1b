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

/** The most levels that roll up from any one level (at least 1): parent links per window. */
export function maxDependents(levels: readonly LevelSpec[]): number {
  let most = 1;
  for (let i = 0; i < levels.length; i++) {
    let n = 0;
    for (let j = 0; j < levels.length; j++) if (j !== i && levels[j]!.source === i) n++;
    if (n > most) most = n;
  }
  return most;
}
