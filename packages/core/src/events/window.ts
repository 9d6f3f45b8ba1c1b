import { z } from 'zod';
import { SymbolSchema } from './symbol.js';

/** Fields every windowed result carries: key, timeframe label, [start, end), finality and revision. */
export const WindowFields = {
  symbol: SymbolSchema,
  timeframe: z.string().describe('window size label, e.g. "1m"'),
  start: z.number().describe('window start, inclusive, UTC epoch ms'),
  end: z.number().describe('window end, exclusive, UTC epoch ms'),
  final: z.boolean().describe('true once the watermark has passed the window end'),
  rev: z.number().int().min(1).describe('version of this result: 2 × the events folded into the window, + 1 once final (deterministic across replays; stores keep the highest)'),
};
