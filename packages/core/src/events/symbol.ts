import { z } from 'zod';
import { MAX_SYMBOL_LENGTH } from './symbolCheck.js';

export { MAX_SYMBOL_LENGTH, isValidSymbol } from './symbolCheck.js';

const SYMBOL_RE = /^[\x21-\x7e]+$/;

/** An instrument symbol: 1–32 printable ASCII characters without spaces (`AAPL`, `BRK.B`, `BTC-USD`, `EUR/USD`). */
export const SymbolSchema = z
  .string()
  .min(1, 'symbol must not be empty')
  .max(MAX_SYMBOL_LENGTH, `symbol must be at most ${MAX_SYMBOL_LENGTH} characters`)
  .regex(SYMBOL_RE, 'symbol must be printable ASCII without spaces');

