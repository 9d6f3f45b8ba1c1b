import type { Side, VolumeLevel, VolumeProfile } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import { SIDE_BUY, SIDE_SELL } from '@tickflow/core/extend';
import type { Aggregator, ColumnsLike, WindowRef } from './aggregator.js';
import { CompensatedSum } from './compensatedSum.js';

/** What a volume profile reads from an event. */
export interface VolumeProfileInput {
  readonly price: number;
  readonly size: number;
  readonly side?: Side | undefined;
}

/** Options of `volumeProfile`. */
export interface VolumeProfileOptions {
  /** Price step of the levels (e.g. 0.05). Required, > 0. */
  readonly step: number;
  /** Share of volume in the value area. Default 0.7. */
  readonly valueArea?: number;
}

class Level {
  readonly volume = new CompensatedSum();
  readonly buy = new CompensatedSum();
  readonly sell = new CompensatedSum();
}

/** Volume-profile accumulator: levels by index (`floor(price / step)`). */
export class VolumeProfileAcc {
  readonly levels = new Map<number, Level>();
}

/** Decimal places of a step such as 0.05 (for exact level prices like 150.05). */
function decimalsOf(step: number): number {
  const s = String(step);
  const e = s.indexOf('e-');
  if (e >= 0) return Number(s.slice(e + 2)) + (s.indexOf('.') >= 0 ? e - s.indexOf('.') - 1 : 0);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/**
 * Level index of a price: `floor(price / step)`, with a relative tolerance of
 * 1e-9 so that a price exactly on a level edge (0.3 with step 0.1, whose
 * quotient is 2.9999999999999996 in floating point) lands on that level.
 */
export function levelIndex(price: number, step: number): number {
  const q = price / step;
  return Math.floor(q + Math.abs(q) * 1e-9 + 1e-9);
}

/** Volume profile as a mergeable aggregator (see `volumeProfile()`). */
export class VolumeProfileAggregator implements Aggregator<VolumeProfileInput, VolumeProfileAcc, VolumeProfile> {
  readonly name = 'volumeProfile';
  private readonly decimals: number;
  private readonly scale: number;
  private readonly stepUnits: number;
  private readonly exactStep: boolean;
  readonly step: number;
  readonly valueArea: number;

  constructor({ step, valueArea = 0.7 }: VolumeProfileOptions) {
    if (!(typeof step === 'number' && Number.isFinite(step) && step > 0)) {
      throw new TickflowError('INVALID_ARGUMENT', `volumeProfile step must be a finite number > 0, got ${String(step)}`);
    }
    if (!(valueArea > 0 && valueArea <= 1)) {
      throw new TickflowError('INVALID_ARGUMENT', `volumeProfile valueArea must be in (0, 1], got ${valueArea}`);
    }
    this.step = step;
    this.valueArea = valueArea;
    const decimals = decimalsOf(step);
    this.decimals = Math.min(12, decimals);
    this.scale = 10 ** this.decimals;
    this.stepUnits = Math.round(step * this.scale);
    // The fast level price needs the step to be exactly stepUnits / scale in decimal (not when decimals were capped).
    this.exactStep = this.stepUnits / this.scale === step && decimals <= 12;
  }

  create(): VolumeProfileAcc {
    return new VolumeProfileAcc();
  }

  reset(acc: VolumeProfileAcc): void {
    acc.levels.clear();
  }

  private addPrice(acc: VolumeProfileAcc, price: number, size: number, side: number): void {
    const idx = levelIndex(price, this.step);
    let level = acc.levels.get(idx);
    if (level === undefined) {
      level = new Level();
      acc.levels.set(idx, level);
    }
    level.volume.add(size);
    if (side === SIDE_BUY) level.buy.add(size);
    else if (side === SIDE_SELL) level.sell.add(size);
  }

  add(acc: VolumeProfileAcc, e: VolumeProfileInput): void {
    this.addPrice(acc, e.price, e.size, e.side === 'buy' ? SIDE_BUY : e.side === 'sell' ? SIDE_SELL : 0);
  }

  addColumns(acc: VolumeProfileAcc, c: ColumnsLike, i: number): void {
    this.addPrice(acc, c.price[i]!, c.size[i]!, c.side === undefined ? 0 : c.side[i]!);
  }

  merge(into: VolumeProfileAcc, from: VolumeProfileAcc): void {
    for (const [idx, l] of from.levels) {
      let level = into.levels.get(idx);
      if (level === undefined) {
        level = new Level();
        into.levels.set(idx, level);
      }
      level.volume.addSum(l.volume);
      level.buy.addSum(l.buy);
      level.sell.addSum(l.sell);
    }
  }

  /** The levels as one Float64Array of [index, volume hi, lo, buy hi, lo, sell hi, lo] per level (checkpoints). */
  encode(acc: VolumeProfileAcc): Float64Array {
    const out = new Float64Array(acc.levels.size * 7);
    let i = 0;
    for (const [idx, l] of acc.levels) {
      out[i++] = idx;
      out[i++] = l.volume.hi;
      out[i++] = l.volume.lo;
      out[i++] = l.buy.hi;
      out[i++] = l.buy.lo;
      out[i++] = l.sell.hi;
      out[i++] = l.sell.lo;
    }
    return out;
  }

  /** Rebuilds the levels `encode` wrote into an empty accumulator. */
  decode(acc: VolumeProfileAcc, data: unknown): void {
    if (!(data instanceof Float64Array) || data.length % 7 !== 0) throw new TickflowError('CHECKPOINT_FAILED', 'volumeProfile: a checkpointed accumulator must be a Float64Array of 7 numbers per level');
    for (let i = 0; i < data.length; i += 7) {
      const l = new Level();
      l.volume.hi = data[i + 1]!;
      l.volume.lo = data[i + 2]!;
      l.buy.hi = data[i + 3]!;
      l.buy.lo = data[i + 4]!;
      l.sell.hi = data[i + 5]!;
      l.sell.lo = data[i + 6]!;
      acc.levels.set(data[i]!, l);
    }
  }

  /** Price of level `idx`, rounded to the step's decimals (150.05, not 150.05000000000001). */
  levelPrice(idx: number): number {
    // idx × stepUnits is the price in units of 10^-decimals, an exact integer below 2^50; dividing by 10^decimals
    // rounds once, to the double nearest that decimal: what Number(price.toFixed(decimals)) gives, without the string
    // (toFixed was 6 % of a busy ingest thread). + 0 turns -0 into 0, as toFixed does.
    const units = idx * this.stepUnits;
    if (this.exactStep && units < 2 ** 50 && units > -(2 ** 50)) return units / this.scale + 0;
    return Number((idx * this.step).toFixed(this.decimals));
  }

  result(acc: VolumeProfileAcc, w: WindowRef): VolumeProfile {
    const idxs = [...acc.levels.keys()].sort((a, b) => a - b);
    const levels: VolumeLevel[] = new Array(idxs.length);
    const total = new CompensatedSum();
    let poc = 0;
    let pocVolume = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < idxs.length; i++) {
      const l = acc.levels.get(idxs[i]!)!;
      const volume = l.volume.value();
      levels[i] = { price: this.levelPrice(idxs[i]!), volume, buyVolume: l.buy.value(), sellVolume: l.sell.value() };
      total.addSum(l.volume);
      // Ties keep the lowest price.
      if (volume > pocVolume) {
        pocVolume = volume;
        poc = i;
      }
    }
    const volume = total.value();
    const [lo, hi, vaVolume] = valueAreaOf(levels, poc, volume * this.valueArea);
    return {
      symbol: w.key,
      timeframe: w.timeframe,
      start: w.start,
      end: w.end,
      bucket: this.step,
      levels,
      volume,
      poc: levels.length > 0 ? levels[poc]!.price : Number.NaN,
      valueAreaLow: levels.length > 0 ? levels[lo]!.price : Number.NaN,
      valueAreaHigh: levels.length > 0 ? levels[hi]!.price : Number.NaN,
      valueAreaVolume: vaVolume,
      final: w.final,
      rev: w.rev,
    };
  }

  same(x: VolumeProfile, y: VolumeProfile): boolean {
    if (x.volume !== y.volume || x.levels.length !== y.levels.length) return false;
    for (let i = 0; i < x.levels.length; i++) {
      const a = x.levels[i]!, b = y.levels[i]!;
      if (a.price !== b.price || a.volume !== b.volume || a.buyVolume !== b.buyVolume || a.sellVolume !== b.sellVolume) return false;
    }
    return true;
  }
}

/**
 * The value area around the point of control: starting at the POC, add the
 * neighbouring level (above or below) with more volume, both on a tie, until
 * the area holds `target` volume. Returns [low index, high index, volume].
 */
export function valueAreaOf(levels: readonly VolumeLevel[], poc: number, target: number): [number, number, number] {
  if (levels.length === 0) return [0, 0, 0];
  let lo = poc;
  let hi = poc;
  let acc = levels[poc]!.volume;
  const n = levels.length;
  while (acc < target && (lo > 0 || hi < n - 1)) {
    const up = hi + 1 < n ? levels[hi + 1]!.volume : -1;
    const down = lo > 0 ? levels[lo - 1]!.volume : -1;
    if (up > down) {
      hi++;
      acc += up;
    } else if (down > up) {
      lo--;
      acc += down;
    } else {
      hi++;
      lo--;
      acc += up + down;
    }
  }
  return [lo, hi, acc];
}

/**
 * Volume profile: volume per price level (`floor(price / step) × step`), split
 * by aggressor side, with the point of control (most volume; ties: lowest
 * price) and the value area (default 70% of volume, grown from the POC toward
 * the heavier neighbour). Mergeable.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(keyBy('symbol'), tumbling({ size: '1m' }, volumeProfile({ step: 0.05 })));
 * ```
 * @see {@link ohlcv}
 */
export function volumeProfile(options: VolumeProfileOptions): Aggregator<VolumeProfileInput, VolumeProfileAcc, VolumeProfile> {
  return new VolumeProfileAggregator(options);
}
