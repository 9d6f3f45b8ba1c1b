/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long (ms); default 5 000. */
  readonly timeoutMs?: number;
  /** Pause between checks (ms); default 10. */
  readonly intervalMs?: number;
  /** Checked before each try: a value other than `undefined` (e.g. a recorded failure) is thrown at once instead of waiting on. */
  readonly failWhen?: () => unknown;
}

/** Thrown by {@link eventually} when the condition does not hold in time; `cause` is the check's last error, if it threw. */
export class EventuallyTimeoutError extends Error {
  override readonly name = 'EventuallyTimeoutError';
}

/**
 * Polls `check` until it returns a value other than `undefined` or `false` and resolves with that value;
 * a check that throws counts as "not yet". Fails after `timeoutMs`, naming `what` (and the last error).
 * Tests wait on a condition with this instead of sleeping a fixed time.
 *
 * @example
 * await eventually('the client is closed', () => server.stats().connections === 0);
 * const row = await eventually('the candle is stored', async () => (await store.readCandles(q))[0]);
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 5_000, intervalMs = 10, failWhen }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const failure = failWhen?.();
    if (failure !== undefined) throw failure;
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new EventuallyTimeoutError(`timed out after ${timeoutMs} ms waiting until ${what}${why}`, { cause: last });
}
