import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import type postgres from 'postgres';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';

type Sql = postgres.Sql<Record<string, never>>;

/**
 * A correlation matrix as `correlation()` of @tickflow/windowing emits it
 * (its `CorrelationMatrix`, by shape: the sinks do not depend on windowing).
 */
export interface CorrelationMatrixRow {
  readonly interval: string;
  readonly lookback: number;
  readonly start: number;
  readonly end: number;
  readonly symbols: readonly string[];
  readonly counts: readonly number[];
  /** symbols.length² values, row-major; NaN where undefined. */
  readonly values: Float64Array | readonly number[];
}

const FLOAT8 = 701;
const TEXT = 25;
const INT4 = 23;

/**
 * DDL of `correlation_matrix`: one row per pair (symbol_a < symbol_b) and
 * matrix, NULL where r is undefined, plus one row per symbol
 * (symbol_a = symbol_b: the diagonal, 1 or NULL, with the symbol's returns).
 */
export function correlationMatrixDdl(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${schema}.correlation_matrix (
  "interval" text NOT NULL,
  lookback integer NOT NULL,
  time timestamptz NOT NULL,
  symbol_a text NOT NULL,
  symbol_b text NOT NULL,
  value double precision,
  returns integer NOT NULL,
  PRIMARY KEY ("interval", lookback, symbol_a, symbol_b, time)
)`,
    `CREATE INDEX IF NOT EXISTS correlation_matrix_time_idx ON ${schema}.correlation_matrix ("interval", lookback, time DESC)`,
  ];
}

/** What to read: the matrix of one interval and lookback at or before `at` (default: the latest), for all its symbols or some. */
export interface CorrelationMatrixQuery {
  readonly interval: string;
  readonly lookback: number;
  /** Epoch ms: the latest matrix whose end is ≤ this. Default: the latest. */
  readonly at?: number | undefined;
  /** Only these symbols (in this order); default every symbol of the stored matrix, sorted. */
  readonly symbols?: readonly string[] | undefined;
}

/**
 * The `correlation_matrix` table of a Timescale/PostgreSQL store: writes
 * matrices as one row per pair (idempotent: a matrix written again replaces
 * its rows) and reads a matrix back. Get one from
 * `TimescaleStore.correlationMatrices()`.
 *
 * @example
 * ```ts
 * const table = store.correlationMatrices();
 * await pipeline(source).pipe(keyBy('symbol'), correlation({ lookback: 60 })).to(table.sink()).run();
 * const m = await table.read({ interval: '1m', lookback: 60, symbols: ['AAPL', 'MSFT'] });
 * ```
 */
export class TimescaleCorrelationMatrices {
  private ready: Promise<void> | undefined;

  /** @internal Use `TimescaleStore.correlationMatrices()`. */
  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
  ) {}

  /** Creates the table when missing (once per instance; idempotent DDL). */
  ensureTable(): Promise<void> {
    this.ready ??= (async () => {
      try {
        for (const ddl of correlationMatrixDdl(this.schema)) await this.sql.unsafe(ddl);
      } catch (e) {
        this.ready = undefined;
        throw new TickflowError('SINK_FAILED', `timescale store: creating ${this.schema}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
      }
    })();
    return this.ready;
  }

  /** Writes matrices (every pair on and above the diagonal), replacing rows of the same matrix and pair. */
  async write(matrices: readonly CorrelationMatrixRow[]): Promise<void> {
    await this.ensureTable();
    for (const m of matrices) {
      const problem = matrixProblem(m);
      if (problem !== undefined) throw new TickflowError('INVALID_ARGUMENT', `correlation_matrix: ${problem}`);
      const n = m.symbols.length;
      const pairs = (n * (n + 1)) / 2;
      const a = new Array<string>(pairs);
      const b = new Array<string>(pairs);
      const v = new Array<number | null>(pairs);
      const r = new Array<number>(pairs);
      let k = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++, k++) {
          // Rows keyed by the pair in text order, whatever order the matrix lists its symbols in.
          const swap = m.symbols[i]! > m.symbols[j]!;
          a[k] = swap ? m.symbols[j]! : m.symbols[i]!;
          b[k] = swap ? m.symbols[i]! : m.symbols[j]!;
          const x = m.values[i * n + j]!;
          v[k] = Number.isNaN(x) ? null : x;
          r[k] = Math.min(m.counts[i]!, m.counts[j]!);
        }
      }
      const sql = this.sql;
      try {
        await sql`
          INSERT INTO ${sql(this.schema)}.correlation_matrix ("interval", lookback, time, symbol_a, symbol_b, value, returns)
          SELECT ${m.interval}, ${m.lookback}, to_timestamp(${m.end} / 1000.0), u.a, u.b, u.v, u.r
          FROM unnest(${sql.array(a, TEXT)}::text[], ${sql.array(b, TEXT)}::text[], ${sql.array(v as number[], FLOAT8)}::float8[], ${sql.array(r, INT4)}::int4[]) AS u(a, b, v, r)
          ON CONFLICT ("interval", lookback, symbol_a, symbol_b, time) DO UPDATE SET value = excluded.value, returns = excluded.returns`;
      } catch (e) {
        throw new TickflowError('SINK_FAILED', `timescale store: writing a ${n}-symbol correlation matrix into ${this.schema}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
      }
    }
  }

  /**
   * The stored matrix of `interval` and `lookback` at or before `at`, or
   * undefined when there is none. The interval's start is `end − interval`
   * as stored; symbols missing from it are left out of the answer.
   */
  async read(q: CorrelationMatrixQuery): Promise<CorrelationMatrixRow | undefined> {
    await this.ensureTable();
    const sql = this.sql;
    const at = q.at ?? 8.64e15;
    const rows = await sql<{ end_ms: string; symbol_a: string; symbol_b: string; value: number | null; returns: number }[]>`
      WITH t AS (
        SELECT max(time) AS time FROM ${sql(this.schema)}.correlation_matrix
        WHERE "interval" = ${q.interval} AND lookback = ${q.lookback} AND time <= to_timestamp(${at} / 1000.0)
      )
      SELECT (extract(epoch FROM c.time) * 1000)::bigint::text AS end_ms, c.symbol_a, c.symbol_b, c.value, c.returns
      FROM ${sql(this.schema)}.correlation_matrix c, t
      WHERE c."interval" = ${q.interval} AND c.lookback = ${q.lookback} AND c.time = t.time`.catch((e: unknown) => {
      throw new TickflowError('SINK_FAILED', `timescale store: reading ${this.schema}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
    });
    if (rows.length === 0) return undefined;
    const stored = new Set<string>();
    for (const r of rows) {
      stored.add(r.symbol_a);
      stored.add(r.symbol_b);
    }
    const symbols = q.symbols === undefined ? [...stored].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)) : q.symbols.filter((s) => stored.has(s));
    const index = new Map(symbols.map((s, i) => [s, i] as const));
    const n = symbols.length;
    const values = new Float64Array(n * n).fill(Number.NaN);
    const counts = new Array<number>(n).fill(0);
    for (const r of rows) {
      const i = index.get(r.symbol_a);
      const j = index.get(r.symbol_b);
      if (i === undefined || j === undefined) continue;
      const x = r.value === null ? Number.NaN : Number(r.value);
      values[i * n + j] = x;
      values[j * n + i] = x;
      if (i === j) counts[i] = r.returns;
    }
    const end = Number(rows[0]!.end_ms);
    return { interval: q.interval, lookback: q.lookback, start: end - parseDuration(q.interval, 'interval'), end, symbols, counts, values };
  }

  /** A batching sink of matrices into this table (retries, breaker, backpressure as the store's other sinks). */
  sink(options: SinkOptions = {}): Sink<CorrelationMatrixRow> {
    const target: SinkTarget<CorrelationMatrixRow> = {
      name: 'timescale:correlation_matrix',
      validate: matrixProblem,
      writeRows: (rows) => this.write(rows),
    };
    // A matrix of 500 symbols is 124 750 rows: a few matrices per write.
    return new BatchingSink(target, { maxBatchSize: 4, ...options });
  }
}

function matrixProblem(m: CorrelationMatrixRow): string | undefined {
  const n = m.symbols?.length;
  if (typeof m.interval !== 'string' || !Number.isInteger(m.lookback) || !Number.isFinite(m.end)) return 'a matrix needs interval, lookback and end';
  if (n === undefined || m.values?.length !== n * n || m.counts?.length !== n) return `a matrix of ${n} symbols needs ${n}² values and ${n} counts, got ${m.values?.length} and ${m.counts?.length}`;
  return undefined;
}
