import type { AggregationKind } from '../aggregation.js';
import type { ResultOutput } from './resultOutput.js';
import { CANDLE_COLUMNS, TICK_COLUMNS } from './resultOutput.js';

/** Columns of volume profiles in Parquet: the window fields, the profile's numbers, levels as JSON. */
export const PROFILE_COLUMNS = ['symbol', 'timeframe', 'start', 'end', 'bucket', 'volume', 'poc', 'valueAreaLow', 'valueAreaHigh', 'valueAreaVolume', 'levels', 'final', 'rev'] as const;

type ColumnType = 'STRING' | 'TIMESTAMP' | 'DOUBLE' | 'INT64' | 'BOOLEAN' | 'JSON';

/** Parquet type of a result field: window bounds are timestamps (ms, UTC), counts and revisions INT64. */
function typeOf(name: string): ColumnType {
  switch (name) {
    case 'symbol':
    case 'timeframe':
      return 'STRING';
    case 'start':
    case 'end':
      return 'TIMESTAMP';
    case 'trades':
    case 'buyTrades':
    case 'sellTrades':
    case 'rev':
      return 'INT64';
    case 'final':
      return 'BOOLEAN';
    case 'levels':
      return 'JSON';
    default:
      return 'DOUBLE';
  }
}

/** Rows per row group. */
const ROW_GROUP = 100_000;

/**
 * Results as a Parquet file (hyparquet-writer, pure JavaScript, snappy):
 * one column per result field in the NDJSON order; start and end as
 * TIMESTAMP(MILLIS), trades and rev as INT64, prices and volumes as DOUBLE,
 * volume-profile levels as a JSON column. Rows are buffered and written one
 * row group of 100 000 at a time; `close` writes the footer.
 *
 * @example
 * ```ts
 * const out = await parquetResultOutput('candles.parquet', 'candles');
 * await out.write(candles);
 * await out.close?.();
 * ```
 */
export async function parquetResultOutput(path: string, kind: AggregationKind): Promise<ResultOutput> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const names: readonly string[] = kind === 'candles' ? CANDLE_COLUMNS : kind === 'ticks' ? TICK_COLUMNS : PROFILE_COLUMNS;
  const types = names.map(typeOf);
  let buffers: unknown[][] = names.map(() => []);
  let rows = 0;
  let total = 0;
  let writer: InstanceType<typeof ParquetWriter> | undefined;
  const flush = async (): Promise<void> => {
    if (rows === 0 && writer !== undefined) return;
    const columnData = names.map((name, i) => ({ name, data: buffers[i]!, type: types[i]!, nullable: false }));
    if (writer === undefined) {
      const { schemaFromColumnData } = await import('hyparquet-writer');
      writer = new ParquetWriter({ writer: fileWriter(path), schema: schemaFromColumnData({ columnData }), createdBy: 'tickflow aggregate' });
    }
    if (rows > 0) await writer.write({ columnData, rowGroupSize: ROW_GROUP });
    total += rows;
    buffers = names.map(() => []);
    rows = 0;
  };
  return {
    async write(batch) {
      for (const v of batch) {
        const r = v as Record<string, unknown>;
        for (let i = 0; i < names.length; i++) {
          const x = r[names[i]!];
          buffers[i]!.push(types[i] === 'INT64' ? BigInt(x as number) : x);
        }
        rows++;
      }
      if (rows >= ROW_GROUP) await flush();
    },
    async close() {
      await flush();
      await writer!.finish();
    },
    describe: () => `${total} rows written to ${path} (Parquet)`,
  };
}
