import type { ClickHouseClient } from '@clickhouse/client';
import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import type { CorrelationMatrixQuery, CorrelationMatrixRow } from '../timescale/correlationMatrices.js';
import type { ClickHouseCapabilities } from './clickHouseSchema.js';
import { columnType, msToTime, quoteIdent, quoteString, timeToMs } from './clickHouseSchema.js';

/**
 * DDL of `correlation_matrix` in ClickHouse: one row per pair (symbol_a <
 * symbol_b) and per symbol (the diagonal, with its returns) of each matrix,
 * NULL where r is undefined; ReplacingMergeTree, so a matrix written again
 * leaves one row per key (reads use FINAL). The interval column is
 * `return_interval`, not `interval`: ClickHouse 18.16 stores the table's
 * metadata with that keyword unquoted and then cannot load it on restart.
 */
export function clickHouseCorrelationDdl(caps: ClickHouseCapabilities, database: string): string {
  const partition = caps.dateTime64 ? 'toYYYYMM(toDateTime(time))' : 'toYYYYMM(toDateTime(intDiv(time, 1000)))';
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.\`correlation_matrix\`
(
  \`return_interval\` String,
  \`lookback\` UInt32,
  \`time\` ${columnType('time', caps)},
  \`symbol_a\` ${columnType('symbol', caps)},
  \`symbol_b\` ${columnType('symbol', caps)},
  \`value\` Nullable(Float64),
  \`returns\` UInt32
)
ENGINE = ReplacingMergeTree
PARTITION BY ${partition}
ORDER BY (return_interval, lookback, symbol_a, symbol_b, time)`;
}

/**
 * The `correlation_matrix` table of a ClickHouse store (on its first shard:
 * a matrix spans every symbol): writes the matrices of `correlation()` from
 * @tickflow/windowing and reads them back. Get one from
 * `ClickHouseStore.correlationMatrices()`.
 *
 * @example
 * ```ts
 * const table = store.correlationMatrices();
 * await table.write([matrix]);
 * const m = await table.read({ interval: '1m', lookback: 60, symbols: ['AAPL', 'MSFT'] });
 * ```
 */
export class ClickHouseCorrelationMatrices {
  private ready: Promise<void> | undefined;

  /** @internal Use `ClickHouseStore.correlationMatrices()`. */
  constructor(
    private readonly client: ClickHouseClient,
    private readonly caps: ClickHouseCapabilities,
    private readonly database: string,
  ) {}

  private get table(): string {
    return `${quoteIdent(this.database)}.\`correlation_matrix\``;
  }

  /** Creates the table when missing (once per instance). */
  ensureTable(): Promise<void> {
    this.ready ??= this.client.command({ query: clickHouseCorrelationDdl(this.caps, this.database) }).then(
      () => undefined,
      (e: unknown) => {
        this.ready = undefined;
        throw new TickflowError('SINK_FAILED', `ClickHouse: creating ${this.database}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
      },
    );
    return this.ready;
  }

  /** Writes matrices: every pair above the diagonal and the diagonal, as JSONEachRow. */
  async write(matrices: readonly CorrelationMatrixRow[]): Promise<void> {
    await this.ensureTable();
    const values: Record<string, string | number | null>[] = [];
    for (const m of matrices) {
      const problem = matrixProblem(m);
      if (problem !== undefined) throw new TickflowError('INVALID_ARGUMENT', `correlation_matrix: ${problem}`);
      const n = m.symbols.length;
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++) {
          const swap = m.symbols[i]! > m.symbols[j]!;
          const x = m.values[i * n + j]!;
          values.push({
            return_interval: m.interval,
            lookback: m.lookback,
            time: m.end,
            symbol_a: swap ? m.symbols[j]! : m.symbols[i]!,
            symbol_b: swap ? m.symbols[i]! : m.symbols[j]!,
            value: Number.isNaN(x) ? null : x,
            returns: Math.min(m.counts[i]!, m.counts[j]!),
          });
        }
      }
    }
    if (values.length === 0) return;
    try {
      await this.client.insert({ table: this.table, values, format: 'JSONEachRow' });
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `ClickHouse: inserting ${values.length} rows into ${this.database}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
    }
  }

  /** The stored matrix of `interval` and `lookback` at or before `at` (default the latest), or undefined. */
  async read(q: CorrelationMatrixQuery): Promise<CorrelationMatrixRow | undefined> {
    await this.ensureTable();
    const caps = this.caps;
    const where = `return_interval = ${quoteString(q.interval)} AND lookback = ${Math.trunc(q.lookback)}`;
    const atCond = q.at === undefined ? '' : ` AND time <= ${msToTime(q.at, caps)}`;
    const sql = `SELECT toString(${timeToMs('time', caps)}) AS end_ms, symbol_a, symbol_b, value, returns
FROM ${this.table} FINAL
WHERE ${where} AND time = (SELECT max(time) FROM ${this.table} WHERE ${where}${atCond})`;
    let rows: { end_ms: string; symbol_a: string; symbol_b: string; value: number | null; returns: number | string }[];
    try {
      const rs = await this.client.query({ query: sql, format: 'JSONEachRow' });
      rows = await rs.json();
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `ClickHouse: reading ${this.database}.correlation_matrix failed: ${describeError(e)}`, { cause: e });
    }
    // An empty table answers max(time) = 0 (the epoch): no matrix then.
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
      if (i === j) counts[i] = Number(r.returns);
    }
    const end = Number(rows[0]!.end_ms);
    return { interval: q.interval, lookback: q.lookback, start: end - parseDuration(q.interval, 'interval'), end, symbols, counts, values };
  }

  /** A batching sink of matrices into this table. */
  sink(options: SinkOptions = {}): Sink<CorrelationMatrixRow> {
    const target: SinkTarget<CorrelationMatrixRow> = { name: 'clickhouse:correlation_matrix', validate: matrixProblem, writeRows: (rows) => this.write(rows) };
    return new BatchingSink(target, { maxBatchSize: 4, ...options });
  }
}

function matrixProblem(m: CorrelationMatrixRow): string | undefined {
  const n = m.symbols?.length;
  if (typeof m.interval !== 'string' || !Number.isInteger(m.lookback) || !Number.isFinite(m.end)) return 'a matrix needs interval, lookback and end';
  if (n === undefined || m.values?.length !== n * n || m.counts?.length !== n) return `a matrix of ${n} symbols needs ${n}² values and ${n} counts, got ${m.values?.length} and ${m.counts?.length}`;
  return undefined;
}
