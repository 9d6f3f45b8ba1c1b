import { CandlestickSeries, ColorType, HistogramSeries, LineSeries, TickMarkType, createChart } from 'lightweight-charts';
import type { CandlestickData, HistogramData, IChartApi, ISeriesApi, LineData, MouseEventParams, Time, UTCTimestamp } from 'lightweight-charts';
import { clockOf, formatDateTime, pad2 } from './format.js';
import type { Theme } from './preferences.js';
import type { Candle } from './types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time-axis tick in the page's time zone (local or UTC, see format.ts; bar times are UTC epoch seconds). */
export function axisTick(seconds: number, type: TickMarkType): string {
  const c = clockOf(seconds * 1000);
  if (type === TickMarkType.Year) return String(c.year);
  if (type === TickMarkType.Month) return MONTHS[c.month]!;
  if (type === TickMarkType.DayOfMonth) return `${c.day} ${MONTHS[c.month]!}`;
  return `${pad2(c.hours)}:${pad2(c.minutes)}${type === TickMarkType.TimeWithSeconds ? `:${pad2(c.seconds)}` : ''}`;
}

/** The crosshair's time label in the page's time zone. */
export function axisLabel(seconds: number): string {
  return formatDateTime(seconds * 1000);
}

const UP = '#26a69a';
const DOWN = '#ef5350';
const VWAP = '#f5a623';
/** Bars kept per chart (history loads ask for fewer). */
const MAX_BARS = 2000;

/** Chart colours per theme (the page's CSS variables hold the rest). */
const THEMES: Record<Theme, { background: string; text: string; grid: string; border: string }> = {
  dark: { background: '#131722', text: '#c7ccd8', grid: '#1f2433', border: '#2a3040' },
  light: { background: '#ffffff', text: '#1f2430', grid: '#eef0f4', border: '#d5d9e2' },
};

function barOf(c: Candle): CandlestickData<UTCTimestamp> {
  return { time: (c.start / 1000) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close };
}

function volumeOf(c: Candle): HistogramData<UTCTimestamp> {
  return { time: (c.start / 1000) as UTCTimestamp, value: c.volume, color: c.close >= c.open ? 'rgba(38,166,154,0.45)' : 'rgba(239,83,80,0.45)' };
}

function vwapOf(c: Candle): LineData<UTCTimestamp> {
  return { time: (c.start / 1000) as UTCTimestamp, value: c.vwap };
}

/** Which overlays the chart draws over the candles. */
export type Overlay = 'vwap' | 'volume';

/**
 * The candlestick chart with volume bars and each bar's VWAP (lightweight-charts 5). Candles of the
 * shown symbol and timeframe are merged by window start (the higher revision
 * of a history row wins, live rows always do); `paint()` pushes what changed since the last paint to the series: a
 * full `setData` after a history load, else `update` per changed bar. The bar under the crosshair (the newest
 * bar when the cursor is elsewhere) goes to `onReadout`.
 */
export class CandleChart {
  readonly chart: IChartApi;
  readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private readonly vwap: ISeriesApi<'Line'>;
  private bars: Candle[] = [];
  private pending = new Map<number, Candle>();
  private reset = false;
  private key = '';
  /** Start of the newest bar given to the series. */
  private seriesLast = -1;
  /** Start of the bar under the crosshair, or undefined when the cursor is off the bars. */
  private hovered: number | undefined;
  private shownReadout: Candle | undefined;
  private readonly overlays = new Set<Overlay>(['vwap', 'volume']);

  constructor(
    container: HTMLElement,
    theme: Theme,
    private readonly onReadout: (bar: Candle | undefined, hovered: boolean) => void = () => undefined,
  ) {
    const t = THEMES[theme];
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: t.background }, textColor: t.text, fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: t.grid }, horzLines: { color: t.grid } },
      rightPriceScale: { borderColor: t.border, scaleMargins: { top: 0.08, bottom: 0.28 } },
      // The page's time zone on the axis and the crosshair label, as in the trades tape (lightweight-charts shows UTC by default).
      timeScale: { borderColor: t.border, timeVisible: true, secondsVisible: false, rightOffset: 3 },
      crosshair: { mode: 0 },
    });
    this.timeZoneChanged();
    this.candles = this.chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    this.vwap = this.chart.addSeries(LineSeries, { color: VWAP, lineWidth: 1, lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
    this.chart.subscribeCrosshairMove((p: MouseEventParams) => {
      const start = p.time === undefined || p.point === undefined ? undefined : (p.time as number) * 1000;
      this.hovered = start;
      this.readout();
    });
  }

  /** New formatters for the axis and crosshair label (the zone is read from format.ts; the chart redraws). */
  timeZoneChanged(): void {
    this.chart.applyOptions({
      timeScale: { tickMarkFormatter: (t: Time, type: TickMarkType) => axisTick(t as number, type) },
      localization: { timeFormatter: (t: Time) => axisLabel(t as number) },
    });
    this.shownReadout = undefined;
    this.readout();
  }

  /** The crosshair label the chart gives an instant (ms), from its own options (for the test hook). */
  timeLabel(ms: number): string {
    const f = this.chart.options().localization.timeFormatter;
    return f === undefined ? '' : f((ms / 1000) as UTCTimestamp);
  }

  setTheme(theme: Theme): void {
    const t = THEMES[theme];
    this.chart.applyOptions({
      layout: { background: { type: ColorType.Solid, color: t.background }, textColor: t.text },
      grid: { vertLines: { color: t.grid }, horzLines: { color: t.grid } },
      rightPriceScale: { borderColor: t.border },
      timeScale: { borderColor: t.border },
    });
  }

  /** Shows or hides an overlay (VWAP line, volume bars). */
  setOverlay(overlay: Overlay, visible: boolean): void {
    if (visible) this.overlays.add(overlay);
    else this.overlays.delete(overlay);
    (overlay === 'vwap' ? this.vwap : this.volume).applyOptions({ visible });
    // Without volume bars the candles use the whole height.
    if (overlay === 'volume') this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: visible ? 0.28 : 0.08 } });
  }

  overlayShown(overlay: Overlay): boolean {
    return this.overlays.has(overlay);
  }

  /** The bar the readout shows: the hovered one, else the newest. */
  readoutBar(): Candle | undefined {
    if (this.hovered !== undefined) {
      const b = this.bars[this.indexOf(this.hovered)];
      if (b !== undefined && b.start === this.hovered) return b;
    }
    return this.last;
  }

  private readout(): void {
    const b = this.readoutBar();
    if (b === this.shownReadout && b !== undefined) return;
    this.shownReadout = b;
    this.onReadout(b, this.hovered !== undefined && b !== undefined && b.start === this.hovered);
  }

  /** Shows another symbol or timeframe: clears the bars until history and live rows arrive. */
  show(symbol: string, timeframe: string): void {
    const key = `${symbol}|${timeframe}`;
    if (key === this.key) return;
    this.key = key;
    this.bars = [];
    this.pending.clear();
    this.reset = true;
  }

  /** Merges candles (REST history, or live rows) of the shown symbol and timeframe; nothing is drawn until `paint()`. */
  merge(rows: readonly Candle[], history = false): void {
    for (const c of rows) {
      if (`${c.symbol}|${c.timeframe}` !== this.key) continue;
      const i = this.indexOf(c.start);
      const old = this.bars[i];
      if (old !== undefined && old.start === c.start) {
        // History may be older than what the WebSocket already brought; live rows are the server's state now
        // (after a server restart revisions start again at 1).
        if (history && c.rev < old.rev && !(c.final && !old.final)) continue;
        this.bars[i] = c;
      } else {
        this.bars.splice(i, 0, c);
        // A bar inserted before the end needs a full redraw.
        if (i < this.bars.length - 1) this.reset = true;
      }
      if (!history) this.pending.set(c.start, c);
    }
    if (history) this.reset = true;
    if (this.bars.length > MAX_BARS) {
      this.bars.splice(0, this.bars.length - MAX_BARS);
      this.reset = true;
    }
  }

  /** Index of the first bar with start ≥ `start` (binary search). */
  private indexOf(start: number): number {
    let lo = 0;
    let hi = this.bars.length;
    if (hi > 0 && this.bars[hi - 1]!.start < start) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bars[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Pushes the changes to the chart (once per batch). */
  paint(): void {
    if (this.reset) {
      this.reset = false;
      this.pending.clear();
      this.candles.setData(this.bars.map(barOf));
      this.volume.setData(this.bars.map(volumeOf));
      this.vwap.setData(this.bars.map(vwapOf));
      this.seriesLast = this.bars[this.bars.length - 1]?.start ?? -1;
      // A new symbol or timeframe: show its whole history, fitted to the chart.
      if (this.bars.length > 0) this.chart.timeScale().fitContent();
      this.readout();
      return;
    }
    if (this.pending.size === 0) return;
    const updates = [...this.pending.values()].sort((a, b) => a.start - b.start);
    this.pending.clear();
    for (const c of updates) {
      // Bars before the series' newest one are already in it (inserts before the end redraw everything).
      const historical = c.start < this.seriesLast;
      this.candles.update(barOf(c), historical);
      this.volume.update(volumeOf(c), historical);
      this.vwap.update(vwapOf(c), historical);
      if (c.start > this.seriesLast) this.seriesLast = c.start;
    }
    this.readout();
  }

  /** The bars shown (a copy; for the test hook). */
  data(): readonly Candle[] {
    return this.bars.slice();
  }

  get last(): Candle | undefined {
    return this.bars[this.bars.length - 1];
  }
}
