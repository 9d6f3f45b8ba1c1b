import type { Writable } from 'node:stream';
import { TickflowError, redactUrl } from '@tickflow/core';
import type { Sink } from '@tickflow/sinks';
import type { AggregationKind } from '../aggregation.js';
import type { ResultOutput } from './resultOutput.js';

/** A store URL parsed for its store. */
export type StoreTarget =
  | { readonly store: 'clickhouse'; readonly url: string; readonly database: string; readonly username?: string | undefined; readonly password?: string | undefined; readonly shown: string }
  | { readonly store: 'postgres'; readonly url: string; readonly schema: string | undefined; readonly shown: string };

/**
 * Reads a `--to` URL: `clickhouse://[user[:password]@]host[:port][/database]`
 * (HTTP interface, default port 8123, database `tickflow`;
 * `clickhouses://` for HTTPS, default port 8443), or
 * `postgres://…` / `postgresql://…` (PostgreSQL or TimescaleDB; the optional
 * `?schema=name` picks the tables' schema, default `public`).
 *
 * @example
 * ```ts
 * parseStoreUrl('clickhouse://ch1:8123/ticks'); // { store: 'clickhouse', url: 'http://ch1:8123', database: 'ticks', … }
 * ```
 */
export function parseStoreUrl(to: string): StoreTarget {
  let u: URL;
  try {
    u = new URL(to);
  } catch {
    throw new TickflowError('INVALID_ARGUMENT', `--to ${redactUrl(to)}: not a URL; use clickhouse://host:8123[/database] or postgres://user@host:5432/database`);
  }
  const shown = redactUrl(to);
  if (u.protocol === 'clickhouse:' || u.protocol === 'clickhouses:') {
    const https = u.protocol === 'clickhouses:';
    const path = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
    if (path.includes('/')) throw new TickflowError('INVALID_ARGUMENT', `--to ${shown}: the path is the database, one name (clickhouse://host:8123/database)`);
    const http = `${https ? 'https' : 'http'}://${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port === '' ? (https ? '8443' : '8123') : u.port}`;
    return {
      store: 'clickhouse',
      url: http,
      database: path === '' ? 'tickflow' : path,
      username: u.username === '' ? undefined : decodeURIComponent(u.username),
      password: u.password === '' ? undefined : decodeURIComponent(u.password),
      shown,
    };
  }
  if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return { store: 'postgres', url: u.toString(), schema, shown };
  }
  throw new TickflowError('INVALID_ARGUMENT', `--to ${shown}: unknown store "${u.protocol.slice(0, -1)}"; use clickhouse://host:8123[/database] or postgres://user@host:5432/database`);
}

/** Settings of openStoreOutput. */
export interface StoreOutputOptions {
  readonly kind: AggregationKind;
  /** Timeframes of the run: the ClickHouse tables to create (one per timeframe). */
  readonly timeframes: readonly string[];
  /** Where the store's log lines and the sink's dead letters go. */
  readonly stderr: Writable;
}

const SINK_KIND = { candles: 'candles', profile: 'volumeProfiles', ticks: 'tickCounts' } as const;

/**
 * Results written into a store given by URL, through the sinks of
 * `@tickflow/sinks` (batching, retries, backpressure; loaded on use): the
 * store's tables are created when missing and every write is idempotent
 * (one row per symbol, timeframe and window start, the highest revision
 * kept), so running the same backfill again leaves the rows of one run.
 * `close` flushes the sink and closes the store.
 */
export async function openStoreOutput(to: string, o: StoreOutputOptions): Promise<ResultOutput> {
  const target = parseStoreUrl(to);
  const log = (m: string): void => {
    o.stderr.write(`${m}\n`);
  };
  const sinkKind = SINK_KIND[o.kind];
  const timeframes = [...o.timeframes];
  let store: { sink(kind: typeof sinkKind): Sink<unknown>; close(): Promise<void> };
  let where: string;
  if (target.store === 'clickhouse') {
    const { ClickHouseStore } = await import('@tickflow/sinks/clickhouse');
    const ch = await ClickHouseStore.connect({
      url: target.url,
      database: target.database,
      username: target.username,
      password: target.password,
      ...(o.kind === 'candles' ? { timeframes } : o.kind === 'profile' ? { profileTimeframes: timeframes } : { tickCountTimeframes: timeframes }),
      log,
    });
    store = { sink: (k) => ch.sink(k) as Sink<unknown>, close: () => ch.close() };
    where = `ClickHouse ${target.url}, database ${target.database}`;
  } else {
    const { TimescaleStore } = await import('@tickflow/sinks/timescale');
    const pg = await TimescaleStore.connect({ url: target.url, ...(target.schema === undefined ? {} : { schema: target.schema }), aggregateRefresh: false, log });
    store = { sink: (k) => pg.sink(k) as Sink<unknown>, close: () => pg.close() };
    where = `${target.shown.replace(/\?.*$/, '')}${target.schema === undefined ? '' : ` schema ${target.schema}`}`;
  }
  const sink = store.sink(sinkKind);
  let rejected = 0;
  sink.on('deadLetter', (d) => {
    rejected++;
    if (rejected <= 10) log(`tickflow aggregate: the store refused a row: ${d.reason}`);
  });
  let rows = 0;
  return {
    enqueue(batch) {
      rows += batch.length;
      return sink.enqueue(batch);
    },
    write(batch) {
      rows += batch.length;
      return sink.write(batch);
    },
    async close() {
      try {
        await sink.close();
      } finally {
        await store.close();
      }
    },
    describe: () => `${rows - rejected} ${sinkKind === 'candles' ? 'candles' : sinkKind === 'volumeProfiles' ? 'profiles' : 'tick counts'} written to ${where}${rejected > 0 ? ` (${rejected} refused)` : ''}`,
  };
}
