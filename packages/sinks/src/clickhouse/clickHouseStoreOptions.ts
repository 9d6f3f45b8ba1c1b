import type { ClickHouseClient } from '@clickhouse/client';
import { DurationSchema, TickflowError, formatIssues, parseDuration } from '@tickflow/core';
import { z } from 'zod';
import type { SinkOptions } from '../sinkOptions.js';

const TimeframeListSchema = z.array(z.string().regex(/^[0-9]+(ms|s|m|h|d|w)$/, 'timeframes are labels like "1m", "5m", "1h"')).min(1);

/**
 * Options of a ClickHouse store (validated with zod; see the defaults).
 *
 * @example
 * ```ts
 * ClickHouseStoreOptionsSchema.parse({ url: ['http://ch1:8123', 'http://ch2:8123'], timeframes: ['1m', '5m', '1h'] });
 * ```
 */
export const ClickHouseStoreOptionsSchema = z
  .object({
    /** One server URL (`http://host:8123`) or several: several are shards, each symbol on shard fnv1a32(symbol) % N. */
    url: z.union([z.string().url(), z.array(z.string().url()).min(1)]).optional(),
    /**
     * Pre-built `@clickhouse/client` clients instead of `url`, one per shard
     * (e.g. chDB's in-process connection, which turns insert bodies into
     * text: use `insertFormat: 'JSONEachRow'` with it). The store does not
     * close them.
     */
    clients: z.array(z.custom<ClickHouseClient>((c) => typeof c === 'object' && c !== null && typeof (c as { exec?: unknown }).exec === 'function', 'expected a @clickhouse/client client')).min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** Database for the tables; created when missing. Default `tickflow`. */
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'database names are letters, digits and _').default('tickflow'),
    /** Candle timeframes: one `ohlc_<tf>` table each. Default `['1m', '5m']`. */
    timeframes: TimeframeListSchema.default(['1m', '5m']),
    /** Volume profile timeframes: one `volume_profile_<tf>` table each. Default `['1m']`. */
    profileTimeframes: TimeframeListSchema.default(['1m']),
    /** Tick count timeframes: one `tick_count_<tf>` table each. Default `['1m']`. */
    tickCountTimeframes: TimeframeListSchema.default(['1m']),
    /** Retention of `trades_raw` where the server has TTL (≥ 19.6), or `false` for none. Default 7 days. */
    tradesTtl: z.union([DurationSchema, z.literal(false)]).default('7d'),
    /** Insert format: RowBinary (fastest, default) or JSONEachRow (for proxies or backends that only take text). */
    insertFormat: z.enum(['RowBinary', 'JSONEachRow']).default('RowBinary'),
    /** HTTP request timeout. Default 30 s. */
    requestTimeout: DurationSchema.default(30_000),
    /** Most HTTP connections open at once, per shard (the client's keep-alive pool). Default 10. */
    maxOpenConnections: z.number().int().positive().default(10),
    /**
     * Let ClickHouse build candles of this timeframe from `trades_raw` itself
     * (`true` = `'1m'`): `ohlc_<tf>` becomes an AggregatingMergeTree fed by a
     * materialized view (see candleView.ts), for trades loaded by other
     * tools; tickflow then writes no candles of that timeframe, and
     * `readCandles` of it merges the view's states. Default false.
     */
    candleView: z.union([z.boolean(), z.string().regex(/^[0-9]+(s|m|h|d)$/, 'candleView is true or a timeframe like "1m"')]).default(false),
  })
  .refine((o) => (o.url === undefined) !== (o.clients === undefined), { message: 'give either url (one or several) or clients' });

/** Options of a ClickHouse store (see ClickHouseStoreOptionsSchema). */
export type ClickHouseStoreOptions = z.input<typeof ClickHouseStoreOptionsSchema> & {
  /** Where the store says what it detected and chose (default console.info). */
  readonly log?: ((message: string) => void) | undefined;
};


/** Store options after validation (the `candleView` timeframe left out of `timeframes`). @internal */
export type ParsedClickHouseOptions = z.output<typeof ClickHouseStoreOptionsSchema>;

/**
 * Sink defaults for ClickHouse, over the generic ones: every insert creates a
 * part on the server, and thousands of small parts a second make ClickHouse
 * throttle inserts ("too many parts"), so batches are large (measured on
 * 18.16: 1 000-row inserts ~140 k trades/s, 50 000-row inserts ~690 k/s).
 *
 * @example
 * ```ts
 * store.sink('trades', { ...CLICKHOUSE_SINK_DEFAULTS, maxBatchAge: '1s' });
 * ```
 */
export const CLICKHOUSE_SINK_DEFAULTS = { maxBatchSize: 50_000 } as const satisfies SinkOptions;

/** Parses store options or throws INVALID_ARGUMENT naming the bad field. */
export function parseClickHouseStoreOptions(options: ClickHouseStoreOptions): ParsedClickHouseOptions {
  const parsed = ClickHouseStoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid ClickHouse store options: ${formatIssues(parsed.error, { root: '(options)' })}`);
  }
  const o = parsed.data;
  for (const k of ['timeframes', 'profileTimeframes', 'tickCountTimeframes'] as const) for (const tf of o[k]) parseDuration(tf, `${k} entry`);
  if (o.tradesTtl !== false) parseDuration(o.tradesTtl, 'tradesTtl');
  parseDuration(o.requestTimeout, 'requestTimeout');
  // The view's timeframe is ClickHouse's to fill: tickflow keeps no ohlc table of that name.
  const view = viewTimeframe(o);
  if (view !== undefined) return { ...o, timeframes: o.timeframes.filter((tf) => tf !== view) };
  return o;
}

/** The timeframe of the `candleView` option, or undefined when it is off. */
export function viewTimeframe(o: ParsedClickHouseOptions): string | undefined {
  return o.candleView === true ? '1m' : o.candleView === false ? undefined : o.candleView;
}
