import { eventually } from '@tickflow/test-services/eventually';

/** Resolves after `ms` milliseconds: only for pacing on purpose; wait on a condition with {@link until}. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 100 ms until it returns a value (not undefined), or fails naming `what` after `ms` (the harness's `eventually`). */
export function until<T>(f: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  return eventually(what, f, { timeoutMs: ms, intervalMs: 100 });
}

/** Waits until the server's in-process store holds a trade of `symbol` (its feed runs), or fails after `ms`. */
export function untilTrading(server: { readonly store: { lastPrice(symbol: string): unknown } }, symbol = 'SYM0001', ms = 5_000): Promise<true> {
  return eventually(`the first trade of ${symbol}`, () => server.store.lastPrice(symbol) !== undefined, { timeoutMs: ms, intervalMs: 50 });
}
