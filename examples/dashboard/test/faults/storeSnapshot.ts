// What the fault tests read back from a store (readClickHouse.ts,
// readPostgres.ts): every row of every table, in a store-independent shape.

/** A stored row in the store-independent shape: every column of the table, renamed to common names where the stores differ. */
export type StoredRow = Record<string, unknown>;

/** Every row of every table of one store, by kind; keys `kind|symbol|timeframe|start` (trades: by id). */
export interface StoreSnapshot {
  readonly store: 'clickhouse' | 'postgres';
  readonly windows: Map<string, StoredRow>;
  /** Window rows seen more than once for one key (must be 0: the tables are keyed). */
  readonly duplicateKeys: number;
  /** Trades by id: every stored copy (FINAL for ClickHouse). */
  readonly trades: Map<string, StoredRow[]>;
  /** ClickHouse only: trade rows before FINAL collapsed replays (information). */
  readonly tradeRowsBeforeFinal: number | undefined;
  /** Columns read per table (to show that nothing was left out). */
  readonly columns: Record<string, readonly string[]>;
}

/** snake_case column name → the camelCase field name of a StoredRow. */
export const camel = (s: string): string => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
