// The symbol rule without zod, so the browser SDK (packages/ws-server/src/client) can check channel
// names with the same function the server validates trades with (`@tickflow/core/symbols`).

/** Longest symbol accepted; longer ones are rejected as bad input. */
export const MAX_SYMBOL_LENGTH = 32;

/** True for an instrument symbol: 1–32 printable ASCII characters without spaces. The hot-path check; agrees with SymbolSchema. */
export function isValidSymbol(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_SYMBOL_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
