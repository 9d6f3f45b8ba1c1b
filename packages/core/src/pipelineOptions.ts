import { z } from 'zod';
import type { Duration } from './duration.js';
import { DurationSchema } from './duration.js';

/** Validates the options passed to `pipeline()` (durations are parsed separately). */
export const PipelineOptionsSchema = z.object({
  name: z.string().min(1).optional(),
  outOfOrderness: DurationSchema.optional(),
  idleTimeout: DurationSchema.optional(),
  wallClockLag: DurationSchema.optional(),
  tickInterval: DurationSchema.optional(),
  timestamp: z.custom<(e: unknown) => number>((v) => typeof v === 'function', 'timestamp must be a function').optional(),
  onWarning: z.custom<(m: string) => void>((v) => typeof v === 'function', 'onWarning must be a function').optional(),
});

/** Event-time and run settings of a pipeline. */
export interface PipelineOptions<T> {
  /** Name used in logs and dead letters. Default `'pipeline'`. */
  readonly name?: string;
  /** Allowed out-of-orderness: watermark = max event time − this. Default 0. */
  readonly outOfOrderness?: Duration;
  /** An input with no events for this long (wall clock) stops holding the watermark. Default: never. */
  readonly idleTimeout?: Duration;
  /**
   * Live mode: the watermark also follows the wall clock (`now − wallClockLag`),
   * so windows close even when nothing trades. Leave unset for replays.
   */
  readonly wallClockLag?: Duration;
  /** How often wall-clock ticks run while a live job runs. Default 100 ms. */
  readonly tickInterval?: Duration;
  /** Reads an event's time (UTC epoch ms). Default: the event's `ts` field. */
  readonly timestamp?: (event: T) => number;
  /** Called with a message when something needs attention (late events with no late output, …). Default: console.warn. */
  readonly onWarning?: (message: string) => void;
}
