// Reads every stored row of the ClickHouse store back (every column, straight
// from the server over HTTP), for the comparisons of comparison.ts.
import { rowKey } from './oracle.js';
import type { StoreSnapshot, StoredRow } from './storeSnapshot.js';
import { camel } from './storeSnapshot.js';

const view = new DataView(new ArrayBuffer(8));

async function chQuery<T>(url: string, sql: string): Promise<T[]> {
  const res = await fetch(`${url}/?output_format_json_quote_64bit_integers=1`, { method: 'POST', body: sql, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${url}: ${sql.slice(0, 120)}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Checks that ClickHouse's JSON output of Float64 round-trips exactly (the readers rely on it). */
export async function checkClickHouseFloats(url: string): Promise<void> {
  const values = [0.1 + 0.2, 1 / 3, 123456.789e-7, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, 101.25 * 0.003];
  const got = await chQuery<{ x: number }>(url, `SELECT x FROM (SELECT arrayJoin([${values.map((v) => `reinterpretAsFloat64(unhex('${floatHexLE(v)}'))`).join(',')}]) AS x) FORMAT JSONEachRow`);
  const xs = got.map((r) => Number(r.x));
  for (let i = 0; i < values.length; i++) if (xs[i] !== values[i]) throw new Error(`ClickHouse JSON does not round-trip Float64: sent ${values[i]}, read ${xs[i]}`);
}

function floatHexLE(v: number): string {
  view.setFloat64(0, v, true);
  let s = '';
  for (let i = 0; i < 8; i++) s += view.getUint8(i).toString(16).padStart(2, '0');
  return s;
}

function chValue(type: string, v: unknown): unknown {
  if (v === null) return type.startsWith('Nullable') ? null : Number.NaN;
  if (/^(U?Int64|UInt64)$/.test(type) || type.startsWith('DateTime64')) return Number(v);
  if (type === 'UInt8' && typeof v === 'number') return v;
  return v;
}

/**
 * Every row of the database's tickflow tables (aggregates with FINAL, so the
 * ReplacingMergeTree's answer; trades_raw with FINAL and also counted
 * without), every column, times as epoch ms.
 */
export async function readClickHouse(url: string, database: string): Promise<StoreSnapshot> {
  const cols = await chQuery<{ table: string; name: string; type: string }>(url, `SELECT table, name, type FROM system.columns WHERE database = '${database}' FORMAT JSONEachRow`);
  const byTable = new Map<string, { name: string; type: string }[]>();
  for (const c of cols) {
    if (!byTable.has(c.table)) byTable.set(c.table, []);
    byTable.get(c.table)!.push({ name: c.name, type: c.type });
  }
  const windows = new Map<string, StoredRow>();
  const trades = new Map<string, StoredRow[]>();
  const columns: Record<string, string[]> = {};
  let duplicateKeys = 0;
  let tradeRowsBeforeFinal: number | undefined;
  for (const [table, list] of byTable) {
    const m = /^(ohlc|volume_profile|tick_count)_(\w+)$/.exec(table);
    if (table !== 'trades_raw' && m === null) continue;
    columns[table] = list.map((c) => c.name);
    const exprs = list.map((c) => (c.type.startsWith('DateTime64') ? `toUnixTimestamp64Milli(\`${c.name}\`) AS \`${c.name}\`` : `\`${c.name}\``)).join(', ');
    const raw = await chQuery<Record<string, unknown>>(url, `SELECT ${exprs} FROM \`${database}\`.\`${table}\` FINAL FORMAT JSONEachRow`);
    const types = new Map(list.map((c) => [c.name, c.type]));
    for (const r of raw) {
      const row: StoredRow = {};
      for (const [k, v] of Object.entries(r)) row[camel(k)] = chValue(types.get(k)!, v);
      if (table === 'trades_raw') {
        const id = String(row.id);
        if (!trades.has(id)) trades.set(id, []);
        trades.get(id)!.push(row);
        continue;
      }
      const kind = m![1] === 'ohlc' ? 'candles' : m![1] === 'volume_profile' ? 'profiles' : 'ticks';
      row.timeframe = m![2];
      row.final = row.final === 1 || row.final === true;
      const key = rowKey(kind, String(row.symbol), m![2]!, Number(row.start));
      if (windows.has(key)) duplicateKeys++;
      windows.set(key, row);
    }
    if (table === 'trades_raw') tradeRowsBeforeFinal = Number((await chQuery<{ n: string }>(url, `SELECT count() AS n FROM \`${database}\`.trades_raw FORMAT JSONEachRow`))[0]?.n ?? 0);
  }
  return { store: 'clickhouse', windows, duplicateKeys, trades, tradeRowsBeforeFinal, columns };
}
