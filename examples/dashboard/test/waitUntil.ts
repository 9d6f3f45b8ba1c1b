import { eventually } from '@tickflow/test-services/eventually';

/** Resolves after `ms` milliseconds: only for pacing on purpose; wait on a condition with {@link until}. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 100 ms until it returns a value (not undefined), or fails naming `what` after `ms` (the harness's `eventually`). */
export function until<T>(f: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  return eventually(what, f, { timeoutMs: ms, intervalMs: 100 });
}
