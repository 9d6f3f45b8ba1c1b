import { z } from 'zod';
import { WindowFields } from './window.js';

/** An OHLCV candle for one symbol and window [start, end), UTC epoch ms. */
export const CandleSchema = z.object({
  ...WindowFields,
  open: z.number().describe('price of the earliest event time in the window (ties: first arrival)'),
  high: z.number(),
  low: z.number(),
  close: z.number().describe('price of the latest event time in the window (ties: last arrival)'),
  volume: z.number().nonnegative(),
  trades: z.number().int().nonnegative().describe('tick count'),
  vwap: z.number(),
  buyVolume: z.number().nonnegative(),
  sellVolume: z.number().nonnegative(),
});

/** An OHLCV candle (see CandleSchema). */
export type Candle = z.infer<typeof CandleSchema>;
