import type { Readable } from 'node:stream';
import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { readCandleView } from './candleView.js';
import { decodeCandle, decodeTickCount, decodeTrade, decodeVolumeProfile } from './clickHouseRows.js';
import type { ClickHouseReadRange } from './clickHouseRowKinds.js';
import { msToTime, quoteIdent, quoteString, timeToMs } from './clickHouseSchema.js';
import type { ClickHouseSchema, TableSpec } from './clickHouseSchema.js';
import { tableOrThrow } from './clickHouseShards.js';
import type { ClickHouseShards, Shard } from './clickHouseShards.js';
import { viewTimeframe } from './clickHouseStoreOptions.js';
import type { ParsedClickHouseOptions } from './clickHouseStoreOptions.js';
import { RowBinaryReader } from './rowBinary.js';

/**
 * The reads of a ClickHouse store: one SELECT … FINAL per shard touched (the
 * symbol's, or all), in RowBinary, merged by time then symbol.
 * @internal
 */
export class ClickHouseReader {
  constructor(
    private readonly shards: ClickHouseShards,
    private readonly options: ParsedClickHouseOptions,
  ) {}

  /** Trades in [from, to), ordered by time (then symbol), one per key; `limit` caps the count. */
  async readTrades(range: ClickHouseReadRange & { readonly limit?: number | undefined } = {}): Promise<Trade[]> {
    const rows = await this.select(range, (s) => s.schema.trades, decodeTrade, range.limit, 'key');
    return rows;
  }

  /**
   * Candles of one timeframe with start in [from, to), ordered by start (then
   * symbol), the highest rev of each; with `limit`, the newest `limit`.
   */
  async readCandles(range: ClickHouseReadRange & { readonly timeframe: string; readonly limit?: number | undefined }): Promise<Candle[]> {
    const tf = range.timeframe;
    if (tf === viewTimeframe(this.options)) return newest(await this.readCandleView(range), checkLimit(range.limit));
    return this.select(range, (s, i) => tableOrThrow(this.shards.candleTables[i]!, s.schema.candles, 'ohlc', tf, 'timeframes'), (r, t) => decodeCandle(r, t.timeframe!), range.limit, undefined, true);
  }

  /** Candles ClickHouse built from `trades_raw` (option `candleView`), merged across shards, ordered by start then symbol. */
  private async readCandleView(range: ClickHouseReadRange): Promise<Candle[]> {
    const spec = { database: this.options.database, timeframe: viewTimeframe(this.options)! };
    const targets = range.symbol !== undefined ? [this.shards.shardOf(range.symbol)] : this.shards.list.map((_, i) => i);
    const parts = await Promise.all(targets.map((i) => readCandleView(this.shards.list[i]!.client, this.shards.list[i]!.schema.capabilities, spec, range)));
    return parts.flat().sort((a, b) => a.start - b.start || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  /** Volume profiles of one timeframe (default the first configured) with start in [from, to); with `limit`, the newest `limit`. */
  async readVolumeProfiles(range: ClickHouseReadRange & { readonly timeframe?: string | undefined; readonly limit?: number | undefined } = {}): Promise<VolumeProfile[]> {
    const tf = range.timeframe ?? this.options.profileTimeframes[0]!;
    return this.select(range, (s, i) => tableOrThrow(this.shards.profileTables[i]!, s.schema.volumeProfiles, 'volume_profile', tf, 'profileTimeframes'), (r, t) => decodeVolumeProfile(r, t.timeframe!), range.limit, undefined, true);
  }

  /** Tick counts of one timeframe (default the first configured) with start in [from, to); with `limit`, the newest `limit`. */
  async readTickCounts(range: ClickHouseReadRange & { readonly timeframe?: string | undefined; readonly limit?: number | undefined } = {}): Promise<TickCount[]> {
    const tf = range.timeframe ?? this.options.tickCountTimeframes[0]!;
    return this.select(range, (s, i) => tableOrThrow(this.shards.tickCountTables[i]!, s.schema.tickCounts, 'tick_count', tf, 'tickCountTimeframes'), (r, t) => decodeTickCount(r, t.timeframe!), range.limit, undefined, true);
  }

  private async select<T extends { readonly symbol: string }>(
    range: ClickHouseReadRange,
    tableOf: (shard: Shard, index: number) => TableSpec,
    decode: (r: RowBinaryReader, table: TableSpec) => T,
    limit?: number,
    tieBreak?: string,
    newestFirst = false,
  ): Promise<T[]> {
    if (range.symbol !== undefined && typeof range.symbol !== 'string') throw new TickflowError('INVALID_ARGUMENT', 'symbol must be a string');
    checkLimit(limit);
    // With `newestFirst` and a limit, each shard returns its newest `limit` rows (read newest first, then reversed).
    const newestLimit = newestFirst && limit !== undefined;
    const targets = range.symbol !== undefined ? [this.shards.shardOf(range.symbol)] : this.shards.list.map((_, i) => i);
    const parts = await Promise.all(
      targets.map(async (i) => {
        const shard = this.shards.list[i]!;
        const table = tableOf(shard, i);
        const sql = selectSql(shard.schema, table, range, limit, tieBreak, newestLimit);
        let body: Buffer;
        try {
          const res = await shard.client.exec({ query: sql });
          body = await readAll(res.stream);
        } catch (e) {
          throw new TickflowError('SINK_FAILED', `ClickHouse ${shard.url}: reading ${shard.schema.database}.${table.name} failed: ${describeError(e)}; check that the server is up`, { cause: e });
        }
        const r = new RowBinaryReader(body);
        const out: T[] = [];
        while (!r.done) out.push(decode(r, table));
        return newestLimit ? out.reverse() : out;
      }),
    );
    if (parts.length === 1) return parts[0]!;
    if (newestLimit) {
      const all = parts.flat().sort((a, b) => timeOfRow(a) - timeOfRow(b) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
      return newest(all, limit);
    }
    // Merge shards by time, then symbol (each part is sorted; a stable sort keeps ties in shard order).
    const merged = parts.flat().sort((a, b) => timeOfRow(a) - timeOfRow(b) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return limit !== undefined ? merged.slice(0, limit) : merged;
  }
}

/**
 * The SELECT of a read: FINAL (one row per key, highest rev), times as
 * epoch ms, ordered by time then symbol, in RowBinary. Literals are inlined
 * (quoted) because 18.16 has no query parameters.
 *
 * @example
 * ```ts
 * const schema = clickHouseSchema(clickHouseCapabilities('18.16.1'), { database: 'tickflow', timeframes: ['1m'], profileTimeframes: ['1m'], tickCountTimeframes: ['1m'], tradesTtlMs: undefined });
 * selectSql(schema, schema.candles.get('1m')!, { symbol: 'AAPL', from: 0, to: 60_000 });
 * // SELECT `symbol`, `start`, … FROM `tickflow`.`ohlc_1m` FINAL WHERE symbol = 'AAPL' AND `start` >= 0 AND `start` < 60000 ORDER BY `start`, symbol FORMAT RowBinary
 * ```
 */
export function selectSql(schema: ClickHouseSchema, table: TableSpec, range: ClickHouseReadRange, limit?: number, tieBreak?: string, newestFirst = false): string {
  const caps = schema.capabilities;
  const cols = table.columns.map((c) => (c.kind === 'time' ? timeToMs(quoteIdent(c.name), caps) : quoteIdent(c.name))).join(', ');
  const where: string[] = [];
  const time = quoteIdent(table.timeColumn);
  if (range.symbol !== undefined) where.push(`symbol = ${quoteString(range.symbol)}`);
  if (range.from !== undefined) where.push(`${time} >= ${msToTime(range.from, caps)}`);
  if (range.to !== undefined) where.push(`${time} < ${msToTime(range.to, caps)}`);
  const order = [time, 'symbol', ...(tieBreak !== undefined ? [quoteIdent(tieBreak)] : [])].map((c) => (newestFirst ? `${c} DESC` : c)).join(', ');
  return `SELECT ${cols} FROM ${quoteIdent(schema.database)}.${quoteIdent(table.name)} FINAL${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}${limit !== undefined ? ` LIMIT ${limit}` : ''} FORMAT RowBinary`;
}

/** A row's time: `ts` for trades, `start` for windows. */
function timeOfRow(row: { readonly symbol: string }): number {
  return (row as unknown as { ts?: number; start?: number }).ts ?? (row as unknown as { start: number }).start;
}

function checkLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new TickflowError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** The last `limit` rows of a list ordered by time (all of them without a limit). */
function newest<T>(rows: T[], limit: number | undefined): T[] {
  return limit === undefined || rows.length <= limit ? rows : rows.slice(rows.length - limit);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
