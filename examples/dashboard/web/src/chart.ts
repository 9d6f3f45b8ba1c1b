import { CandlestickSeries, ColorType, HistogramSeries, TickMarkType, createChart } from 'lightweight-charts';
import type { Time } from 'lightweight-charts';

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** A time-axis tick in the browser's time zone (bar times are UTC epoch seconds). */
export function localTick(seconds: number, type: TickMarkType): string {
  const d = new Date(seconds * 1000);
  if (type === TickMarkType.Year) return String(d.getFullYear());
  if (type === TickMarkType.Month) return d.toLocaleString(undefined, { month: 'short' });
  if (type === TickMarkType.DayOfMonth) return `${d.getDate()} ${d.toLocaleString(undefined, { month: 'short' })}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${type === TickMarkType.TimeWithSeconds ? `:${pad(d.getSeconds())}` : ''}`;
}

/** The crosshair's time label in the browser's time zone. */
export function localLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
import type { CandlestickData, HistogramData, IChartApi, ISeriesApi, UTCTimestamp } from 'lightweight-charts';
import type { Candle } from './types.js';

const UP = '#26a69a';
const DOWN = '#ef5350';
/** Bars kept per chart (history loads ask for fewer). */
const MAX_BARS = 2000;

function barOf(c: Candle): CandlestickData<UTCTimestamp> {
  return { time: (c.start / 1000) as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close };
}

function volumeOf(c: Candle): HistogramData<UTCTimestamp> {
  return { time: (c.start / 1000) as UTCTimestamp, value: c.volume, color: c.close >= c.open ? 'rgba(38,166,154,0.45)' : 'rgba(239,83,80,0.45)' };
}

/**
 * The candlestick chart with volume bars (lightweight-charts 5). Candles of the
 * shown symbol and timeframe are merged by window start (the higher revision
 * of a history row wins, live rows always do); `paint()` pushes what changed since the last paint to the series: a
 * full `setData` after a history load, else `update` per changed bar.
 */
export class CandleChart {
  readonly chart: IChartApi;
  readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private bars: Candle[] = [];
  private pending = new Map<number, Candle>();
  private reset = false;
  private key = '';
  /** Start of the newest bar given to the series. */
  private seriesLast = -1;

  constructor(container: HTMLElement) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#131722' }, textColor: '#c7ccd8', fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: '#1f2433' }, horzLines: { color: '#1f2433' } },
      rightPriceScale: { borderColor: '#2a3040', scaleMargins: { top: 0.08, bottom: 0.28 } },
      // Local time on the axis and the crosshair label, as in the trades tape (lightweight-charts shows UTC by default).
      timeScale: { borderColor: '#2a3040', timeVisible: true, secondsVisible: false, rightOffset: 3, tickMarkFormatter: (t: Time, type: TickMarkType) => localTick(t as number, type) },
      localization: { timeFormatter: (t: Time) => localLabel(t as number) },
      crosshair: { mode: 0 },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
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
      this.seriesLast = this.bars[this.bars.length - 1]?.start ?? -1;
      // A new symbol or timeframe: show its whole history, fitted to the chart.
      if (this.bars.length > 0) this.chart.timeScale().fitContent();
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
      if (c.start > this.seriesLast) this.seriesLast = c.start;
    }
  }

  /** The bars shown (a copy; for the test hook). */
  data(): readonly Candle[] {
    return this.bars.slice();
  }

  get last(): Candle | undefined {
    return this.bars[this.bars.length - 1];
  }
}
