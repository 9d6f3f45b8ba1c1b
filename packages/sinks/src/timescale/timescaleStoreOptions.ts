import { DurationSchema, TickflowError, describeError, formatIssues, ms as parseMs } from '@tickflow/core';
import type { Duration } from '@tickflow/core';
import { z } from 'zod';
import { redact } from './timescaleErrors.js';
import { checkSchemaName } from './timescaleSchema.js';
import type { TimescaleMode } from './timescaleSchema.js';

/**
 * zod schema of TimescaleStoreOptions (without `log`, which is a function).
 *
 * @example
 * ```ts
 * const parsed = TimescaleStoreOptionsSchema.safeParse({ url: 'postgres://postgres@127.0.0.1:5432/postgres', schema: 'market' });
 * ```
 */
export const TimescaleStoreOptionsSchema = z
  .object({
    /** PostgreSQL URL (`postgres://user:password@host:port/database`). */
    url: z.string().min(1, 'url must be a postgres:// URL'),
    /** Schema (namespace) of the tables. Default `public`. */
    schema: z.string().default('public'),
    /** `auto` (TimescaleDB when the extension can be created, else plain PostgreSQL), `timescale` (fail without it) or `postgres` (plain tables even where TimescaleDB is available). Default `auto`. */
    mode: z.enum(['auto', 'timescale', 'postgres']).default('auto'),
    /** Connections in the pool. Default 4 (1 on a PGlite server, which serves one connection at a time). */
    maxConnections: z.number().int().positive().default(4),
    /** Longest wait for a connection. Default 10 s. */
    connectTimeout: DurationSchema.default('10s'),
    /** Create the tables, indexes, policies and views when missing. Default true. */
    createSchema: z.boolean().default(true),
    /** Chunk interval of the trades hypertable. Default 1 h. */
    chunkInterval: DurationSchema.default('1h'),
    /** Compress trades chunks older than this. Default 48 h. */
    compressAfter: DurationSchema.default('48h'),
    /** Drop trades chunks older than this. Default 730 d (two years). */
    retention: DurationSchema.default('730d'),
    /** Refresh of ohlc_daily and volume_by_symbol: the continuous-aggregate policy's interval, or on plain PostgreSQL the store's own timer (`false`: only `refreshAggregates()`). Default 1 m. */
    aggregateRefresh: z.union([DurationSchema, z.literal(false)]).default('1m'),
  })
  .strict();

/** Options of `TimescaleStore.connect` (see TimescaleStoreOptionsSchema for defaults). */
export type TimescaleStoreOptions = z.input<typeof TimescaleStoreOptionsSchema> & {
  /** Where the store says what it chose at start-up (default console.info). */
  readonly log?: ((message: string) => void) | undefined;
};

/** Store options after validation, durations in ms. @internal */
export interface ParsedTimescaleOptions {
  readonly url: string;
  readonly schema: string;
  readonly mode: 'auto' | TimescaleMode;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly createSchema: boolean;
  readonly chunkIntervalMs: number;
  readonly compressAfterMs: number;
  readonly retentionMs: number;
  readonly aggregateRefreshMs: number | false;
}

function ms(value: Duration | string | number, what: string): number {
  try {
    return parseMs(value, what);
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${describeError(e)}`, { cause: e });
  }
}

/** Validates store options; throws `INVALID_ARGUMENT` saying what to change. @internal */
export function parseTimescaleStoreOptions(options: TimescaleStoreOptions): ParsedTimescaleOptions {
  const { log: _log, ...rest } = options;
  const parsed = TimescaleStoreOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${formatIssues(parsed.error, { root: '(options)' })}`);
  }
  const o = parsed.data;
  if (!/^postgres(ql)?:\/\//.test(o.url)) throw new TickflowError('INVALID_ARGUMENT', `url must start with postgres:// or postgresql://, got ${JSON.stringify(redact(o.url))}`);
  const positive = (value: number, what: string): number => {
    if (value <= 0) throw new TickflowError('INVALID_ARGUMENT', `invalid Timescale store options: ${what} must be > 0`);
    return value;
  };
  return {
    url: o.url,
    schema: checkSchemaName(o.schema),
    mode: o.mode,
    maxConnections: o.maxConnections,
    connectTimeoutMs: positive(ms(o.connectTimeout, 'connectTimeout'), 'connectTimeout'),
    createSchema: o.createSchema,
    chunkIntervalMs: positive(ms(o.chunkInterval, 'chunkInterval'), 'chunkInterval'),
    compressAfterMs: positive(ms(o.compressAfter, 'compressAfter'), 'compressAfter'),
    retentionMs: positive(ms(o.retention, 'retention'), 'retention'),
    aggregateRefreshMs: o.aggregateRefresh === false ? false : positive(ms(o.aggregateRefresh, 'aggregateRefresh'), 'aggregateRefresh'),
  };
}
