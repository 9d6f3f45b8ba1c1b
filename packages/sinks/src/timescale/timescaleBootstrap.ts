import { TickflowError, describeError } from '@tickflow/core';
import postgres from 'postgres';
import { explain, redact } from './timescaleErrors.js';
import { timescaleSchema } from './timescaleSchema.js';
import type { TimescaleMode } from './timescaleSchema.js';
import type { ParsedTimescaleOptions } from './timescaleStoreOptions.js';

/** The postgres.js client type the store uses. @internal */
export type Sql = postgres.Sql<Record<string, never>>;

/** A duration in ms as the shortest exact label (`3600000` → `1h`), for log lines. */
export function duration(msValue: number): string {
  for (const [size, unit] of [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1_000, 's']] as const) {
    if (msValue % size === 0) return `${msValue / size}${unit}`;
  }
  return `${msValue}ms`;
}

/** A postgres.js pool of `max` connections for these options. */
export function client(o: ParsedTimescaleOptions, max: number): Sql {
  return postgres(o.url, {
    max,
    onnotice: () => undefined,
    connect_timeout: Math.max(1, Math.ceil(o.connectTimeoutMs / 1000)),
    // Fail fast while the server is down: the sink retries with its own
    // backoff and circuit breaker. (The driver's default delays reconnects
    // exponentially, up to 20 s, after a few failed connects.)
    backoff: () => 0,
    // Numbers stay numbers: counts are read as float8, bigint columns are never returned raw.
    transform: { undefined: null },
  }) as unknown as Sql;
}

/** Whether the store runs on TimescaleDB or plain PostgreSQL: what the server can do, unless an existing layout says otherwise. */
export async function detectMode(sql: Sql, o: ParsedTimescaleOptions): Promise<{ mode: TimescaleMode; timescaleVersion: string | undefined; reason: string }> {
  let available = false;
  let reason = 'mode: postgres requested';
  if (o.mode !== 'postgres') {
    try {
      await sql.unsafe('CREATE EXTENSION IF NOT EXISTS timescaledb');
      available = true;
    } catch (e) {
      reason = `no timescaledb extension: ${describeError(e)}`;
      if (o.mode === 'timescale') {
        throw new TickflowError('SINK_FAILED', `timescale store: mode "timescale" needs the timescaledb extension, which the server at ${redact(o.url)} cannot create (${describeError(e)}): install TimescaleDB (shared_preload_libraries = 'timescaledb') or use mode "auto"`, { cause: e });
      }
    }
  }
  let timescaleVersion: string | undefined;
  if (available) {
    const [row] = await sql<{ v: string }[]>`SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'`;
    timescaleVersion = row?.v;
  }
  // An existing layout wins over what the server could do.
  const [layout] = await sql<{ has_trades: boolean; catalog: boolean }[]>`
    SELECT to_regclass(${`${o.schema}.trades`}) IS NOT NULL AS has_trades, to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL AS catalog`;
  const hasTrades = layout!.has_trades;
  let isHypertable = false;
  if (hasTrades && layout!.catalog) {
    const [h] = await sql<{ h: boolean }[]>`SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable WHERE schema_name = ${o.schema} AND table_name = 'trades') AS h`;
    isHypertable = h!.h;
  }
  if (hasTrades && isHypertable) {
    if (o.mode === 'postgres') {
      throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${o.schema}.trades is a TimescaleDB hypertable but mode "postgres" was requested: use mode "auto" or another schema`);
    }
    return { mode: 'timescale', timescaleVersion, reason: '' };
  }
  if (hasTrades && available) {
    if (o.mode === 'timescale') {
      throw new TickflowError('INVALID_ARGUMENT', `timescale store: ${o.schema}.trades exists as a plain table: migrate it (SELECT create_hypertable('${o.schema}.trades', 'time', migrate_data => true), then drop ohlc_daily and volume_by_symbol) or use mode "auto"`);
    }
    return { mode: 'postgres', timescaleVersion, reason: `${o.schema}.trades was created without TimescaleDB, kept as it is` };
  }
  return available ? { mode: 'timescale', timescaleVersion, reason: '' } : { mode: 'postgres', timescaleVersion: undefined, reason };
}

/** Runs the schema's DDL (idempotent) on one connection under an advisory lock. */
export async function createSchema(sql: Sql, o: ParsedTimescaleOptions, mode: TimescaleMode): Promise<void> {
  const { statements } = timescaleSchema({
    mode,
    schema: o.schema,
    chunkIntervalMs: o.chunkIntervalMs,
    compressAfterMs: o.compressAfterMs,
    retentionMs: o.retentionMs,
    refreshEveryMs: o.aggregateRefreshMs === false ? 60_000 : o.aggregateRefreshMs,
  });
  // One connection, under an advisory lock: concurrent start-ups run the DDL one after the other.
  const conn = await sql.reserve();
  const lockKey = `tickflow:${o.schema}`;
  try {
    await conn`SELECT pg_advisory_lock(hashtext(${lockKey}))`;
    try {
      for (const statement of statements) {
        try {
          await conn.unsafe(statement);
        } catch (e) {
          throw new TickflowError('SINK_FAILED', `timescale store: creating the schema failed at "${statement.split('\n')[0]!.slice(0, 120)}": ${explain(e, o.url)}. Check that the user may create tables in schema ${o.schema}, or create them with createSchema: false`, { cause: e });
        }
      }
    } finally {
      await conn`SELECT pg_advisory_unlock(hashtext(${lockKey}))`.catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}
