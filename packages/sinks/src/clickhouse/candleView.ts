import type { ClickHouseClient } from '@clickhouse/client';
import type { Candle } from '@tickflow/core';
import { TickflowError, describeError, parseDuration } from '@tickflow/core';
import type { ClickHouseCapabilities } from './clickHouseSchema.js';
import { columnType, msToTime, quoteIdent, quoteString, timeToMs } from './clickHouseSchema.js';

/** Where ClickHouse builds candles from `trades_raw` itself (see `candleViewStatements`). */
export interface CandleViewSpec {
  readonly database: string;
  /** Timeframe label, e.g. `'1m'`: the table is `ohlc_<timeframe>`, the view `ohlc_<timeframe>_mv`. */
  readonly timeframe: string;
}

/** Table and view names of a candle view. */
export function candleViewNames(spec: CandleViewSpec): { readonly table: string; readonly view: string } {
  if (!/^[0-9]+(s|m|h|d)$/.test(spec.timeframe)) {
    throw new TickflowError('INVALID_ARGUMENT', `candleView: timeframe "${spec.timeframe}" must be a whole number of seconds, minutes, hours or days, like "1m"`);
  }
  return { table: `ohlc_${spec.timeframe}`, view: `ohlc_${spec.timeframe}_mv` };
}

/**
 * The order of trades inside a window, as a tuple ClickHouse compares: event
 * time, then the exchange id (by length first, so numeric sequence ids
 * compare as numbers), then the row key. tickflow breaks event-time ties by
 * arrival order, so the view's candles equal tickflow's when trades with the
 * same timestamp arrive in id order, as exchange sequence numbers do.
 */
const TRADE_ORDER = '(ts, length(id), id, key)';

/**
 * DDL of a candle table ClickHouse fills itself: an AggregatingMergeTree
 * `ohlc_<tf>` of aggregate states keyed (symbol, start), and a materialized
 * view `ohlc_<tf>_mv` that turns every block inserted into `trades_raw` into
 * states: `argMinState` / `argMaxState` of the price over the trade order
 * (open, close), `maxState` / `minState` (high, low), `sumState` of size,
 * notional, count and per-side size. Reads merge the states
 * (`candleViewSelect`). For users who load `trades_raw` with their own
 * tools. The view sees inserts, not merged rows: a trade inserted twice is
 * counted twice (tickflow's own candle tables are idempotent; load the raw
 * table exactly once when using the view).
 *
 * @example
 * ```ts
 * for (const sql of candleViewStatements(clickHouseCapabilities('24.8'), { database: 'tickflow', timeframe: '1m' })) await client.command({ query: sql });
 * ```
 */
export function candleViewStatements(caps: ClickHouseCapabilities, spec: CandleViewSpec): string[] {
  const { table, view } = candleViewNames(spec);
  const ms = parseDuration(spec.timeframe, 'candleView timeframe');
  const db = quoteIdent(spec.database);
  const time = columnType('time', caps);
  const orderType = `Tuple(${time}, UInt64, String, String)`;
  const start = caps.dateTime64 ? `toStartOfInterval(ts, INTERVAL ${ms / 1000} SECOND)` : `intDiv(ts, ${ms}) * ${ms}`;
  const partition = caps.dateTime64 ? 'toDateTime(start)' : 'toDateTime(intDiv(start, 1000))';
  const f64 = (fn: string): string => `AggregateFunction(${fn}, Float64)`;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${quoteIdent(table)}
(
  \`symbol\` ${columnType('symbol', caps)},
  \`start\` ${time},
  \`open\` AggregateFunction(argMin, Float64, ${orderType}),
  \`high\` ${f64('max')},
  \`low\` ${f64('min')},
  \`close\` AggregateFunction(argMax, Float64, ${orderType}),
  \`volume\` ${f64('sum')},
  \`notional\` ${f64('sum')},
  \`trades\` AggregateFunction(count),
  \`buy_volume\` ${f64('sum')},
  \`sell_volume\` ${f64('sum')}
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(${partition})
ORDER BY (symbol, start)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${quoteIdent(view)} TO ${db}.${quoteIdent(table)} AS
SELECT
  symbol,
  ${start} AS start,
  argMinState(price, ${TRADE_ORDER}) AS open,
  maxState(price) AS high,
  minState(price) AS low,
  argMaxState(price, ${TRADE_ORDER}) AS close,
  sumState(size) AS volume,
  sumState(price * size) AS notional,
  countState() AS trades,
  sumState(if(side = 'buy', size, 0)) AS buy_volume,
  sumState(if(side = 'sell', size, 0)) AS sell_volume
FROM ${db}.\`trades_raw\`
GROUP BY symbol, start`,
  ];
}

/** Range of a candle view read. */
export interface CandleViewRange {
  readonly symbol?: string | undefined;
  /** Inclusive start bound, epoch ms. */
  readonly from?: number | undefined;
  /** Exclusive start bound, epoch ms. */
  readonly to?: number | undefined;
}

/** The SELECT that merges a candle view's states into one row per (symbol, start), ordered by start then symbol. */
export function candleViewSelect(caps: ClickHouseCapabilities, spec: CandleViewSpec, range: CandleViewRange = {}): string {
  const { table } = candleViewNames(spec);
  const where: string[] = [];
  if (range.symbol !== undefined) where.push(`symbol = ${quoteString(range.symbol)}`);
  if (range.from !== undefined) where.push(`start >= ${msToTime(range.from, caps)}`);
  if (range.to !== undefined) where.push(`start < ${msToTime(range.to, caps)}`);
  return `SELECT symbol, toString(${timeToMs('start', caps)}) AS start_ms, argMinMerge(open) AS open, maxMerge(high) AS high, minMerge(low) AS low, argMaxMerge(close) AS close,
  sumMerge(volume) AS volume, sumMerge(notional) AS notional, toString(countMerge(trades)) AS trades, sumMerge(buy_volume) AS buy_volume, sumMerge(sell_volume) AS sell_volume
FROM ${quoteIdent(spec.database)}.${quoteIdent(table)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
GROUP BY symbol, start
ORDER BY start, symbol`;
}

interface ViewRow {
  symbol: string;
  start_ms: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  notional: number;
  trades: string;
  buy_volume: number;
  sell_volume: number;
}

/**
 * Reads a candle view as tickflow Candles (final, with the version tickflow
 * gives a final window of that many trades: 2 × trades + 1). VWAP is
 * Σ price × size / Σ size summed by ClickHouse, so it can differ from
 * tickflow's compensated sum in the last bits.
 */
export async function readCandleView(client: ClickHouseClient, caps: ClickHouseCapabilities, spec: CandleViewSpec, range: CandleViewRange = {}): Promise<Candle[]> {
  const ms = parseDuration(spec.timeframe, 'candleView timeframe');
  let rows: ViewRow[];
  try {
    const rs = await client.query({ query: candleViewSelect(caps, spec, range), format: 'JSONEachRow' });
    rows = await rs.json<ViewRow>();
  } catch (e) {
    throw new TickflowError('SINK_FAILED', `ClickHouse: reading the candle view ${spec.database}.${candleViewNames(spec).table} failed: ${describeError(e)}; check that the server is up and the store was connected with candleView`, { cause: e });
  }
  return rows.map((r) => {
    const start = Number(r.start_ms);
    const trades = Number(r.trades);
    return {
      symbol: r.symbol,
      timeframe: spec.timeframe,
      start,
      end: start + ms,
      open: Number(r.open),
      high: Number(r.high),
      low: Number(r.low),
      close: Number(r.close),
      volume: Number(r.volume),
      trades,
      vwap: Number(r.volume) > 0 ? Number(r.notional) / Number(r.volume) : Number(r.close),
      buyVolume: Number(r.buy_volume),
      sellVolume: Number(r.sell_volume),
      final: true,
      rev: trades * 2 + 1,
    };
  });
}
