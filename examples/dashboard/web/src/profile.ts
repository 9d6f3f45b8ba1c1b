import type { ISeriesApi } from 'lightweight-charts';
import { formatPrice } from './format.js';
import type { VolumeProfile } from './types.js';

/**
 * The volume profile beside the chart: one horizontal bar per price level of
 * the newest profile window, drawn on a canvas on the chart's price scale
 * (`priceToCoordinate`), so levels line up with the candles. The value area is
 * brighter, the point of control (POC) is marked and labelled.
 */
export class ProfileView {
  private profile: VolumeProfile | undefined;
  private dirty = true;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly label: HTMLElement,
    private readonly series: ISeriesApi<'Candlestick'>,
  ) {
    const ctx = canvas.getContext('2d');
    if (ctx === null) throw new Error('no 2D canvas context for the volume profile');
    this.ctx = ctx;
  }

  /** Shows no profile until the next `set`. */
  clear(): void {
    this.profile = undefined;
    this.dirty = true;
  }

  /** The newest profile of the given rows (profile channel or REST). */
  set(rows: readonly VolumeProfile[]): void {
    let newest = this.profile;
    for (const p of rows) if (newest === undefined || p.start > newest.start || (p.start === newest.start && p.rev >= newest.rev)) newest = p;
    if (newest !== this.profile) {
      this.profile = newest;
      this.dirty = true;
    }
  }

  /** The profile shown (test hook). */
  get current(): VolumeProfile | undefined {
    return this.profile;
  }

  /** Marks the drawing stale (the chart's price scale moved). */
  invalidate(): void {
    this.dirty = true;
  }

  /** Redraws when the profile or the price scale changed. */
  paint(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    const g = this.ctx;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const p = this.profile;
    if (p === undefined || p.levels.length === 0) {
      this.label.textContent = 'volume profile: waiting for data';
      return;
    }
    this.label.textContent = `POC ${formatPrice(p.poc)} · VA ${formatPrice(p.valueAreaLow)}–${formatPrice(p.valueAreaHigh + p.bucket)} · ${p.timeframe}`;
    let max = 0;
    for (const l of p.levels) if (l.volume > max) max = l.volume;
    const lo = p.levels[0]!.price;
    const hi = p.levels[p.levels.length - 1]!.price + p.bucket;
    // On the chart's price scale when it has data, else spread over the canvas.
    const onChart = this.series.priceToCoordinate(lo) !== null;
    const y = (price: number): number => (onChart ? (this.series.priceToCoordinate(price) ?? 0) : h - ((price - lo) / (hi - lo || 1)) * h);
    for (const l of p.levels) {
      const top = y(l.price + p.bucket);
      const bottom = y(l.price);
      const barH = Math.max(1, Math.abs(bottom - top) - 0.5);
      const len = max === 0 ? 0 : (l.volume / max) * (w - 4);
      const inValueArea = l.price >= p.valueAreaLow && l.price <= p.valueAreaHigh;
      g.fillStyle = l.price === p.poc ? '#f5c542' : inValueArea ? 'rgba(100,149,237,0.85)' : 'rgba(100,149,237,0.35)';
      g.fillRect(0, Math.min(top, bottom), len, barH);
    }
    const pocY = y(p.poc + p.bucket / 2);
    g.strokeStyle = '#f5c542';
    g.setLineDash([3, 3]);
    g.beginPath();
    g.moveTo(0, pocY);
    g.lineTo(w, pocY);
    g.stroke();
    g.setLineDash([]);
  }
}
