import type { DataState } from './connectionStatus.js';
import type { Theme, TimeZoneChoice } from './preferences.js';
import type { Candle, Timeframe, VolumeProfile } from './types.js';

/** What browser tests and the benchmark read (`window.tickflowPage`, set by main.ts). */
export interface PageHook {
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly state: DataState;
  /** The chart's bars. */
  candles(): readonly Candle[];
  /** Last price of the shown symbol (ticker). */
  lastPrice(): number | undefined;
  profile(): VolumeProfile | undefined;
  /** History loads finished (GET /api/aggregates). */
  readonly historyLoads: number;
  /** Batches received and frames painted. */
  readonly batches: number;
  readonly paints: number;
  /** The chart's crosshair label (from the chart's own formatter) and the tape's time of an instant (both in the chosen zone). */
  timeLabels(ms: number): { axis: string; tape: string };
  readonly timeZone: TimeZoneChoice;
  readonly theme: Theme;
  /** Start of the bar the crosshair readout shows. */
  readonly readoutStart: number | undefined;
  /** Symbols whose `quotes:SYM` channel is subscribed. */
  readonly quoteChannels: number;
}

declare global {
  interface Window {
    tickflowPage?: PageHook;
  }
}
