import { z } from 'zod';

/** Longest symbol accepted; longer ones are rejected as bad input. */
export const MAX_SYMBOL_LENGTH = 32;

const SYMBOL_RE = /^[\x21-\x7e]+$/;

/** An instrument symbol: 1–32 printable ASCII characters without spaces (`AAPL`, `BRK.B`, `BTC-USD`, `EUR/USD`). */
export const SymbolSchema = z
  .string()
  .min(1, 'symbol must not be empty')
  .max(MAX_SYMBOL_LENGTH, `symbol must be at most ${MAX_SYMBOL_LENGTH} characters`)
  .regex(SYMBOL_RE, 'symbol must be printable ASCII without spaces');

/** Fast check used on the hot path; agrees with SymbolSchema. */
export function isValidSymbol(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_SYMBOL_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
