// Reads every stored row of the PostgreSQL/Timescale store back (every
// column, straight from the server), for the comparisons of comparison.ts.
import postgres from 'postgres';
import { rowKey } from './oracle.js';
import type { StoreSnapshot, StoredRow } from './storeSnapshot.js';
import { camel } from './storeSnapshot.js';

/**
 * Every row of the PostgreSQL store's tables in `schema` (ohlc,
 * volume_profiles, tick_counts, trades), every column, times as epoch ms; the
 * profile `levels` JSON unfolded into the same parallel arrays ClickHouse has.
 */
export async function readPostgres(url: string, schema = 'public'): Promise<StoreSnapshot> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const cols = await sql<{ table_name: string; column_name: string; data_type: string }[]>`
      SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = ${schema} AND table_name IN ('ohlc', 'volume_profiles', 'tick_counts', 'trades') ORDER BY table_name, ordinal_position`;
    const byTable = new Map<string, { name: string; type: string }[]>();
    for (const c of cols) {
      if (!byTable.has(c.table_name)) byTable.set(c.table_name, []);
      byTable.get(c.table_name)!.push({ name: c.column_name, type: c.data_type });
    }
    const windows = new Map<string, StoredRow>();
    const trades = new Map<string, StoredRow[]>();
    const columns: Record<string, string[]> = {};
    let duplicateKeys = 0;
    for (const [table, list] of byTable) {
      columns[table] = list.map((c) => c.name);
      const exprs = list.map((c) => (c.type.startsWith('timestamp') && c.name !== 'written_at' ? `(extract(epoch from "${c.name}") * 1000)::float8 AS "${c.name}"` : `"${c.name}"`)).join(', ');
      const raw = await sql.unsafe<Record<string, unknown>[]>(`SELECT ${exprs} FROM "${schema}"."${table}"`);
      const types = new Map(list.map((c) => [c.name, c.type]));
      for (const r of raw) {
        const row: StoredRow = {};
        for (const [k, v] of Object.entries(r)) {
          const type = types.get(k)!;
          row[camel(k)] = type === 'bigint' || type === 'numeric' ? (v === null ? null : Number(v)) : v;
        }
        if (table === 'trades') {
          const id = String(row.tradeId);
          if (!trades.has(id)) trades.set(id, []);
          trades.get(id)!.push(row);
          continue;
        }
        if (table === 'volume_profiles') {
          const levels = row.levels as { price: number; volume: number; buyVolume: number; sellVolume: number }[];
          delete row.levels;
          row.levelPrice = levels.map((l) => l.price);
          row.levelVolume = levels.map((l) => l.volume);
          row.levelBuyVolume = levels.map((l) => l.buyVolume);
          row.levelSellVolume = levels.map((l) => l.sellVolume);
          const odd = levels.filter((l) => Object.keys(l).sort().join() !== 'buyVolume,price,sellVolume,volume').length;
          if (odd > 0) row.levelsWithOtherKeys = odd;
        }
        const kind = table === 'ohlc' ? 'candles' : table === 'volume_profiles' ? 'profiles' : 'ticks';
        const key = rowKey(kind, String(row.symbol), String(row.timeframe), Number(row.start));
        if (windows.has(key)) duplicateKeys++;
        windows.set(key, row);
      }
    }
    return { store: 'postgres', windows, duplicateKeys, trades, tradeRowsBeforeFinal: undefined, columns };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
