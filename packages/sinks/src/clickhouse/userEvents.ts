import type { ClickHouseClient } from '@clickhouse/client';
import { InvalidEvent, TickflowError, describeError, normalizeUserEventRecord, parseDuration } from '@tickflow/core';
import type { Duration, UserEventRecord, UserEventType } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import type { ClickHouseCapabilities } from './clickHouseSchema.js';
import { clickHouseCapabilities, columnType, msToTime, quoteIdent, quoteString, timeToMs } from './clickHouseSchema.js';

/** Default retention of `user_events` where the server has TTL. */
export const USER_EVENTS_TTL_DEFAULT = '90d';

/** Options of `ClickHouseUserEvents.open`. */
export interface ClickHouseUserEventsOptions {
  /** A `@clickhouse/client` client (not closed by the table). */
  readonly client: ClickHouseClient;
  /** Database of the table; created when missing. Default `tickflow`. */
  readonly database?: string | undefined;
  /** Retention (`TTL ts + …`, whole days or seconds) where the server has TTL (≥ 19.6), or `false` for none. Default 90 days. */
  readonly ttl?: Duration | false | undefined;
  /** Called with what was chosen (version, TTL). Default console.info. */
  readonly log?: ((message: string) => void) | undefined;
}

/** A range of `user_events` to read: `ts` (client time) in [from, to). */
export interface UserEventsQuery {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly type?: UserEventType | undefined;
  /** Most rows, oldest first. Default 10 000. */
  readonly limit?: number | undefined;
}

/** Columns of `user_events` in insert order; the fields of one type that have no column are JSON in `props`. */
const COLUMNS = ['id', 'version', 'type', 'ts', 'received_at', 'session_id', 'user', 'client', 'symbol', 'props'] as const;
const IN_COLUMNS: ReadonlySet<string> = new Set(['id', 'version', 'type', 'ts', 'receivedAt', 'sessionId', 'user', 'client', 'symbol']);

function interval(ms: number): string {
  if (ms % 86_400_000 === 0) return `INTERVAL ${ms / 86_400_000} DAY`;
  if (ms % 1_000 === 0) return `INTERVAL ${ms / 1_000} SECOND`;
  throw new TickflowError('INVALID_ARGUMENT', `the user_events TTL must be a whole number of seconds, got ${ms} ms`);
}

/**
 * DDL of `user_events`: ReplacingMergeTree ordered by (type, ts, id), so an
 * event delivered twice (at-least-once Kafka consumption, a client re-sending
 * a batch with the same ids) leaves one row after merges, and reads use
 * FINAL; monthly partitions of the client time; `TTL ts + ttl` where the
 * server supports TTL (≥ 19.6), else none (drop old partitions by hand).
 *
 * @example
 * ```ts
 * clickHouseUserEventsDdl(clickHouseCapabilities('24.8'), 'tickflow', 90 * 86_400_000);
 * ```
 */
export function clickHouseUserEventsDdl(caps: ClickHouseCapabilities, database: string, ttlMs: number | undefined): string {
  const asDateTime = caps.dateTime64 ? 'toDateTime(ts)' : 'toDateTime(intDiv(ts, 1000))';
  const ttl = caps.ttl && ttlMs !== undefined ? `\nTTL ${asDateTime} + ${interval(ttlMs)}` : '';
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.\`user_events\`
(
  \`id\` String,
  \`version\` UInt8,
  \`type\` ${columnType('symbol', caps)},
  \`ts\` ${columnType('time', caps)},
  \`received_at\` ${columnType('time', caps)},
  \`session_id\` String,
  \`user\` String,
  \`client\` ${columnType('symbol', caps)},
  \`symbol\` ${columnType('symbol', caps)},
  \`props\` String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(${asDateTime})
ORDER BY (\`type\`, ts, id)${ttl}`;
}

/** Why a record must not be stored, or undefined (the sink's validation: bad ones go to the dead-letter output). */
function recordProblem(row: UserEventRecord): string | undefined {
  const r = normalizeUserEventRecord(row);
  return r instanceof InvalidEvent ? r.reason : undefined;
}

function toRow(e: UserEventRecord): Record<string, string | number> {
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!IN_COLUMNS.has(k) && v !== undefined) props[k] = v;
  const r = e as UserEventRecord & { client?: string; symbol?: string };
  return { id: e.id, version: e.version, type: e.type, ts: e.ts, received_at: e.receivedAt, session_id: e.sessionId, user: e.user, client: r.client ?? '', symbol: r.symbol ?? '', props: JSON.stringify(props) };
}

interface StoredRow {
  id: string;
  version: number | string;
  type: string;
  ts_ms: number | string;
  received_ms: number | string;
  session_id: string;
  user: string;
  client: string;
  symbol: string;
  props: string;
}

function fromRow(r: StoredRow): UserEventRecord {
  const e: Record<string, unknown> = { version: Number(r.version), type: r.type, id: r.id, ts: Number(r.ts_ms), sessionId: r.session_id };
  if (r.client !== '') e.client = r.client;
  if (r.symbol !== '') e.symbol = r.symbol;
  Object.assign(e, JSON.parse(r.props) as Record<string, unknown>);
  e.receivedAt = Number(r.received_ms);
  e.user = r.user;
  return e as unknown as UserEventRecord;
}

/**
 * The `user_events` table in ClickHouse: the user events of web, mobile and
 * desktop clients (see `UserEventSchema` in @tickflow/core), written through
 * a batching sink and read back. Writes are idempotent by event id (see
 * `clickHouseUserEventsDdl`).
 *
 * @example
 * ```ts
 * const table = await ClickHouseUserEvents.open({ client, database: 'tickflow', ttl: '90d' });
 * const sink = table.sink({ maxBatchSize: 1_000 });
 * await sink.write(records);
 * const stored = await table.read({ from: Date.now() - 3_600_000 });
 * ```
 */
export class ClickHouseUserEvents {
  private constructor(
    private readonly client: ClickHouseClient,
    /** The capabilities of the server the table was created for. */
    readonly capabilities: ClickHouseCapabilities,
    /** The database holding the table. */
    readonly database: string,
    /** What was chosen, in words (version, TTL). */
    readonly summary: string,
  ) {}

  /** Detects the server version, creates the database and `user_events` when missing, logs the choice. Throws `SINK_FAILED` when the server cannot be reached. */
  static async open(options: ClickHouseUserEventsOptions): Promise<ClickHouseUserEvents> {
    const database = options.database ?? 'tickflow';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new TickflowError('INVALID_ARGUMENT', `user_events: database "${database}" must be letters, digits and _`);
    const ttl = options.ttl ?? USER_EVENTS_TTL_DEFAULT;
    const ttlMs = ttl === false ? undefined : parseDuration(ttl, 'user_events ttl');
    if (ttlMs !== undefined) interval(ttlMs);
    let step = 'reading the server version';
    try {
      const rs = await options.client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const [row] = await rs.json<{ v: string }>();
      if (row === undefined) throw new Error('SELECT version() returned no row');
      const caps = clickHouseCapabilities(row.v);
      step = 'creating the database';
      await options.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}` });
      step = 'creating user_events';
      await options.client.command({ query: clickHouseUserEventsDdl(caps, database, ttlMs) });
      const summary = `ClickHouse ${caps.version}: ${database}.user_events, ${caps.ttl ? (ttlMs === undefined ? 'no TTL (disabled)' : `TTL ${interval(ttlMs).toLowerCase()}`) : 'no TTL support (< 19.6): rows stay until old monthly partitions are dropped'}; duplicates by id collapse (ReplacingMergeTree, reads use FINAL)`;
      (options.log ?? ((m: string) => console.info(m)))(`tickflow clickhouse: ${summary}`);
      return new ClickHouseUserEvents(options.client, caps, database, summary);
    } catch (e) {
      if (e instanceof TickflowError) throw e;
      throw new TickflowError('SINK_FAILED', `ClickHouse user_events: ${step} failed: ${describeError(e)}`, { cause: e });
    }
  }

  private get table(): string {
    return `${quoteIdent(this.database)}.\`user_events\``;
  }

  /** Inserts records (JSONEachRow); validate them first (the sink does) or a bad one fails the insert. */
  async write(rows: readonly UserEventRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map(toRow);
    try {
      await this.client.insert({ table: this.table, values, format: 'JSONEachRow', columns: [...COLUMNS] });
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `ClickHouse: inserting ${values.length} rows into ${this.database}.user_events failed: ${describeError(e)}`, { cause: e });
    }
  }

  /** Stored events with `ts` in [from, to), oldest first, one per id. */
  async read(q: UserEventsQuery = {}): Promise<UserEventRecord[]> {
    const caps = this.capabilities;
    const where: string[] = [];
    if (q.from !== undefined) where.push(`ts >= ${msToTime(q.from, caps)}`);
    if (q.to !== undefined) where.push(`ts < ${msToTime(q.to, caps)}`);
    if (q.type !== undefined) where.push(`\`type\` = ${quoteString(q.type)}`);
    const limit = Math.max(1, Math.min(Math.trunc(q.limit ?? 10_000), 1_000_000));
    const sql = `SELECT id, version, \`type\`, toString(${timeToMs('ts', caps)}) AS ts_ms, toString(${timeToMs('received_at', caps)}) AS received_ms, session_id, \`user\`, client, symbol, props
FROM ${this.table} FINAL${where.length === 0 ? '' : `\nWHERE ${where.join(' AND ')}`}
ORDER BY ts, id
LIMIT ${limit}`;
    try {
      const rs = await this.client.query({ query: sql, format: 'JSONEachRow' });
      return (await rs.json<StoredRow>()).map(fromRow);
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `ClickHouse: reading ${this.database}.user_events failed: ${describeError(e)}`, { cause: e });
    }
  }

  /**
   * A batching sink into this table: invalid records go to the dead-letter
   * output with the reason, batches are retried behind the breaker (writes
   * are idempotent by id).
   */
  sink(options: SinkOptions = {}): Sink<UserEventRecord> {
    const target: SinkTarget<UserEventRecord> = { name: 'clickhouse:user_events', validate: recordProblem, writeRows: (rows) => this.write(rows) };
    return new BatchingSink(target, { maxBatchSize: 10_000, ...options });
  }
}
