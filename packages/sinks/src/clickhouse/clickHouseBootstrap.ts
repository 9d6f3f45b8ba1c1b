import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import { candleViewStatements } from './candleView.js';
import { clickHouseCapabilities, clickHouseSchema, columnType, quoteString } from './clickHouseSchema.js';
import type { ClickHouseCapabilities, ClickHouseSchema } from './clickHouseSchema.js';
import type { Shard } from './clickHouseShards.js';
import { viewTimeframe } from './clickHouseStoreOptions.js';
import type { ParsedClickHouseOptions } from './clickHouseStoreOptions.js';

/**
 * Creates a client per URL (or takes the given clients), prepares every
 * shard at once and logs each one's schema; on any failure closes the
 * clients it created and throws that failure.
 * @internal
 */
export async function openShards(o: ParsedClickHouseOptions, log: (message: string) => void): Promise<Shard[]> {
  const urls = o.url === undefined ? [] : typeof o.url === 'string' ? [o.url] : o.url;
  const entries =
    o.clients !== undefined
      ? o.clients.map((client, i) => ({ url: `client #${i + 1}`, client, owned: false }))
      : urls.map((url) => ({
          url: safeUrl(url),
          owned: true,
          client: createClient({
            url,
            username: o.username,
            password: o.password,
            request_timeout: parseDuration(o.requestTimeout, 'requestTimeout'),
            max_open_connections: o.maxOpenConnections,
            compression: { request: false, response: false },
            application: 'tickflow',
            log: { level: ClickHouseLogLevel.OFF },
          }),
        }));
  const ttlMs = o.tradesTtl === false ? undefined : parseDuration(o.tradesTtl, 'tradesTtl');
  const results = await Promise.allSettled(
    entries.map(async (e, i) => {
      const schema = await prepareShard(e.client, e.url, o, ttlMs);
      log(`tickflow clickhouse: shard ${i + 1}/${entries.length} (${e.url}): ${schema.summary}`);
      return { ...e, schema };
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(entries.filter((e) => e.owned).map((e) => e.client.close().catch(() => undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<Shard>).value);
}

/** The URL without credentials, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

async function queryJson<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Detects a shard's capabilities, creates the database and tables, checks existing tables. */
async function prepareShard(client: ClickHouseClient, url: string, o: ParsedClickHouseOptions, ttlMs: number | undefined): Promise<ClickHouseSchema> {
  let step = 'reading the server version';
  try {
    const [row] = await queryJson<{ v: string }>(client, 'SELECT version() AS v');
    if (row === undefined) throw new Error('SELECT version() returned no row');
    const server = clickHouseCapabilities(row.v);
    const schemaOptions = { database: o.database, timeframes: o.timeframes, profileTimeframes: o.profileTimeframes, tickCountTimeframes: o.tickCountTimeframes, tradesTtlMs: ttlMs };
    step = `creating database ${o.database}`;
    await client.command({ query: clickHouseSchema(server, schemaOptions).statements[0]! });
    step = 'reading existing tables';
    const existing = await queryJson<{ table: string; name: string; type: string }>(client, `SELECT table, name, type FROM system.columns WHERE database = ${quoteString(o.database)}`);
    const caps = adoptExistingTypes(server, existing);
    const schema = clickHouseSchema(caps, schemaOptions);
    for (const sql of schema.statements.slice(1)) {
      step = `running ${sql.split('\n')[0]}`;
      await client.command({ query: sql });
    }
    const view = viewTimeframe(o);
    if (view !== undefined) {
      for (const sql of candleViewStatements(caps, { database: o.database, timeframe: view })) {
        step = `running ${sql.split('\n')[0]}`;
        await client.command({ query: sql });
      }
    }
    step = 'checking the tables';
    const now = existing.length > 0 ? await queryJson<{ table: string; name: string; type: string }>(client, `SELECT table, name, type FROM system.columns WHERE database = ${quoteString(o.database)}`) : [];
    if (now.length > 0) checkTables(schema, now);
    return schema;
  } catch (e) {
    if (e instanceof TickflowError) throw e;
    throw new TickflowError('SINK_FAILED', `ClickHouse ${url}: ${step} failed: ${describeError(e)}; check the url, credentials and that the server is up`, { cause: e });
  }
}

/**
 * Tables created earlier (e.g. before a server upgrade) keep their types: if
 * an existing table stores times as UInt64 or symbols as String, the schema
 * uses the same, so old and new tables stay readable with one set of SQL.
 */
function adoptExistingTypes(server: ClickHouseCapabilities, columns: readonly { table: string; name: string; type: string }[]): ClickHouseCapabilities {
  let { dateTime64, lowCardinality } = server;
  for (const c of columns) {
    if (c.table !== 'trades_raw' && !/^(ohlc|volume_profile|tick_count)_/.test(c.table)) continue;
    if (c.name === 'ts' || c.name === 'start') dateTime64 = c.type.startsWith('DateTime64');
    if (c.name === 'symbol') lowCardinality = c.type.startsWith('LowCardinality');
  }
  return { ...server, dateTime64, lowCardinality };
}

function checkTables(schema: ClickHouseSchema, columns: readonly { table: string; name: string; type: string }[]): void {
  const tables = [schema.trades, ...schema.candles.values(), ...schema.volumeProfiles.values(), ...schema.tickCounts.values()];
  for (const t of tables) {
    const have = columns.filter((c) => c.table === t.name);
    const want = t.columns.map((c) => `${c.name} ${columnType(c.kind, schema.capabilities)}`);
    const got = have.map((c) => `${c.name} ${c.type}`);
    const missing = want.filter((w) => !got.includes(w));
    if (missing.length > 0) {
      throw new TickflowError(
        'SINK_FAILED',
        `ClickHouse table ${schema.database}.${t.name} exists but does not match what tickflow writes (missing or different: ${missing.join(', ')}; found: ${got.join(', ')}); drop or rename it, or use another database`,
      );
    }
  }
}
