import type { ClickHouseClient } from '@clickhouse/client';
import { TickflowError, parseDuration } from '@tickflow/core';
import type { ClickHouseCapabilities, ClickHouseSchema, TableSpec } from './clickHouseSchema.js';
import { shardOf } from './shardOf.js';

/** What one shard is: its URL and the capabilities the schema was built for. */
export interface ClickHouseShardInfo {
  readonly url: string;
  readonly capabilities: ClickHouseCapabilities;
}

/** One server of a store: its client and the schema built for it. @internal */
export interface Shard {
  readonly url: string;
  readonly client: ClickHouseClient;
  readonly owned: boolean;
  readonly schema: ClickHouseSchema;
}
/** Tables by timeframe label and by length in ms. @internal */
export type TableIndex = Map<string | number, TableSpec>;

/**
 * The servers of a store and where rows go: each symbol on shard
 * fnv1a32(symbol) % N (shardOf.ts), each window row in the table of its
 * timeframe.
 * @internal
 */
export class ClickHouseShards {
  readonly candleTables: TableIndex[];
  readonly profileTables: TableIndex[];
  readonly tickCountTables: TableIndex[];
  private readonly bySymbol = new Map<string, number>();

  constructor(readonly list: readonly Shard[]) {
    this.candleTables = list.map((s) => tableIndex(s.schema.candles));
    this.profileTables = list.map((s) => tableIndex(s.schema.volumeProfiles));
    this.tickCountTables = list.map((s) => tableIndex(s.schema.tickCounts));
  }

  /** The index of the shard holding a symbol (cached). */
  shardOf(symbol: string): number {
    let s = this.bySymbol.get(symbol);
    if (s === undefined) {
      s = shardOf(symbol, this.list.length);
      if (this.bySymbol.size > 100_000) this.bySymbol.clear();
      this.bySymbol.set(symbol, s);
    }
    return s;
  }

  /** The shards a read touches: the symbol's, or every one. */
  targets(symbol: string | undefined): number[] {
    return symbol !== undefined ? [this.shardOf(symbol)] : this.list.map((_, i) => i);
  }

  /** Rows per shard, in shard order (one part, the input itself, on a single shard). */
  splitByShard<T extends { readonly symbol: string }>(rows: readonly T[]): (readonly T[])[] {
    const n = this.list.length;
    if (n === 1) return [rows];
    const out: T[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < rows.length; i++) out[this.shardOf(rows[i]!.symbol)]!.push(rows[i]!);
    return out;
  }
}

/** Maps each configured timeframe label (and its length in ms) to its table. */
export function tableIndex(tables: ReadonlyMap<string, TableSpec>): Map<string | number, TableSpec> {
  const index = new Map<string | number, TableSpec>();
  for (const [tf, table] of tables) {
    index.set(tf, table);
    index.set(parseDuration(tf, 'timeframe'), table);
  }
  return index;
}

/** The table of a timeframe (by label, else by length), or undefined. */
export function findTable(index: Map<string | number, TableSpec>, timeframe: string): TableSpec | undefined {
  const hit = index.get(timeframe);
  if (hit !== undefined) return hit;
  try {
    return index.get(parseDuration(timeframe, 'timeframe'));
  } catch {
    return undefined;
  }
}

/** The table of a timeframe, or INVALID_ARGUMENT naming the option to change. */
export function tableOrThrow(index: TableIndex, tables: ReadonlyMap<string, TableSpec>, prefix: string, timeframe: string, option: string): TableSpec {
  const t = findTable(index, timeframe);
  if (t === undefined) throw new TickflowError('INVALID_ARGUMENT', `no ClickHouse table ${prefix}_${timeframe} (configured timeframes: ${[...tables.keys()].join(', ')}); add "${timeframe}" to the store's ${option} option`);
  return t;
}
