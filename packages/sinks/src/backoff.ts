/** Settings of exponential backoff with jitter, in milliseconds. */
export interface BackoffSettings {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): exponential growth
 * capped at `maxDelayMs`, with "equal jitter" (half fixed, half random) so
 * that many sinks recovering from one outage do not retry in lockstep, while
 * a retry never comes sooner than half the nominal delay.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2 }); // 200…400
 * ```
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const nominal = Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.factor ** Math.max(0, attempt - 1));
  return nominal / 2 + random() * (nominal / 2);
}
