import { parseDuration } from './duration.js';
import { formatIssues } from './events/issues.js';
import { TickflowError } from './errors.js';
import { PipelineBuilder } from './pipelineBuilder.js';
import type { PipelineOptions } from './pipelineOptions.js';
import { PipelineOptionsSchema } from './pipelineOptions.js';
import type { Source } from './source.js';

// The pipeline API lives in four files: the options (pipelineOptions.ts), the
// builder (pipelineBuilder.ts), the running job (job.ts) and its output
// buffers (jobOutputs.ts). This file starts a pipeline and re-exports them.
export { Job } from './job.js';
export type { JobSnapshot, JobStats, RunOptions } from './job.js';
export { PipelineBuilder } from './pipelineBuilder.js';
export type { PipelineOptions } from './pipelineOptions.js';

/**
 * Starts a pipeline: from a source (then `job.run()`), or with no source for
 * manual driving (`job.push()`, `job.pushBatch()`, `job.pushColumns()`, `job.end()`).
 *
 * @example
 * ```ts
 * const job = pipeline(fromArray(trades), { outOfOrderness: '2s' })
 *   .pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv()))
 *   .to((candle) => console.log(candle));
 * await job.run();
 * ```
 */
export function pipeline<T>(source: Source<T>, options?: PipelineOptions<T>): PipelineBuilder<T, T>;
export function pipeline<T>(options?: PipelineOptions<T>): PipelineBuilder<T, T>;
export function pipeline<T>(sourceOrOptions?: Source<T> | PipelineOptions<T>, maybeOptions?: PipelineOptions<T>): PipelineBuilder<T, T> {
  const isSource = sourceOrOptions !== undefined && typeof (sourceOrOptions as Source<T>).read === 'function';
  const source = isSource ? (sourceOrOptions as Source<T>) : undefined;
  const options = (isSource ? maybeOptions : (sourceOrOptions as PipelineOptions<T> | undefined)) ?? {};
  const parsed = PipelineOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid pipeline options: ${formatIssues(parsed.error)}`);
  }
  // Parse durations now so bad values fail at build time, not mid-run.
  for (const k of ['outOfOrderness', 'idleTimeout', 'wallClockLag', 'tickInterval'] as const) {
    const v = options[k];
    if (v !== undefined) parseDuration(v, k);
  }
  return new PipelineBuilder<T, T>(source, options, [], undefined, undefined);
}
