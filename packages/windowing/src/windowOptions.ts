import type { Duration } from '@tickflow/core';
import { DurationSchema, TickflowError, formatDuration, formatIssues, parseDuration } from '@tickflow/core';
import { z } from 'zod';
import type { EmitSpec } from './internal/windowStage.js';

/**
 * When windows are emitted:
 * - `'final'` (default): once when the watermark passes the window's end,
 *   then again (rev + 1) for each correction by a late event inside grace.
 * - `'update'`: on every change while the window is open (unchanged results
 *   suppressed), then the final emission and corrections as above.
 * - `{ mode: 'update', throttle: '250ms' }`: updates at most once per window
 *   per throttle interval (wall clock, for live dashboards).
 */
export type EmitMode = 'final' | 'update' | { readonly mode: 'update'; readonly throttle?: Duration };

/** zod schema of EmitMode. */
export const EmitModeSchema = z.union([
  z.literal('final'),
  z.literal('update'),
  z.object({ mode: z.literal('update'), throttle: DurationSchema.optional() }).strict(),
]);

/** zod schema of the options shared by window operators. */
export const WindowOptionsSchema = z
  .object({
    grace: DurationSchema.optional(),
    emit: EmitModeSchema.optional(),
    name: z.string().min(1).optional(),
  })
  .passthrough();

/** Throws a TickflowError naming the operator and every bad option. */
export function checkOptions<T>(schema: z.ZodType<T>, value: unknown, operator: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new TickflowError('INVALID_ARGUMENT', `${operator}: invalid options: ${formatIssues(r.error, { root: 'options' })}`);
  }
  return r.data;
}

/** Parses an emit mode. */
export function parseEmit(emit: EmitMode | undefined): EmitSpec {
  if (emit === undefined || emit === 'final') return { update: false, throttle: 0 };
  if (emit === 'update') return { update: true, throttle: 0 };
  return { update: true, throttle: emit.throttle === undefined ? 0 : parseDuration(emit.throttle, 'emit.throttle') };
}

/** Parses a window size (> 0 ms, whole ms). */
export function parseSize(value: Duration, what: string): number {
  const ms = parseDuration(value, what);
  if (ms <= 0 || !Number.isInteger(ms)) {
    throw new TickflowError('INVALID_ARGUMENT', `${what} must be a whole number of milliseconds > 0, got ${formatDuration(ms)}`);
  }
  return ms;
}
