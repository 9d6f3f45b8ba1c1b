import { z } from 'zod';
import { WindowFields } from './window.js';

/** Number of trades in one symbol's window, in total and by aggressor side. */
export const TickCountSchema = z.object({
  ...WindowFields,
  trades: z.number().int().nonnegative(),
  buyTrades: z.number().int().nonnegative(),
  sellTrades: z.number().int().nonnegative(),
});

/** A tick count (see TickCountSchema). */
export type TickCount = z.infer<typeof TickCountSchema>;
