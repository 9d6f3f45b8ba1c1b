// ClickHouse sink throughput: synthetic trades and candles written from one
// Node process into a local ClickHouse (Debian's 18.16, started by
// @tickflow/test-services, or the server CLICKHOUSE_URL points at), at a few
// batch sizes: directly through the store (one insert in flight) and through
// a pipeline into a sink. RowBinary is the store's default insert format; one
// JSONEachRow row per batch size is measured beside it for comparison.
// Each measurement writes into a fresh database, dropped afterwards.
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { startClickHouse } from '@tickflow/test-services';
import { direct, makeCandles, makeTrades, measureStore, seconds, workloadSize } from './workload.mjs';

async function sql(url, query) {
  const res = await fetch(`${url}/`, { method: 'POST', body: query });
  if (!res.ok) throw new Error(await res.text());
}

let dbSeq = 0;

/** Runs `fn(store)` against a fresh database and returns its duration in seconds. */
async function timed(url, insertFormat, fn) {
  const database = `tickflow_bench_${process.pid}_${dbSeq++}`;
  const store = await ClickHouseStore.connect({ url, database, insertFormat, log: () => {} });
  try {
    return await seconds(() => fn(store));
  } finally {
    await store.close();
    await sql(url, `DROP DATABASE IF EXISTS ${database}`);
  }
}

export async function bench({ quick = false } = {}) {
  const { tradeCount, candleCount, batchSizes } = workloadSize(quick);
  const trades = makeTrades(tradeCount);
  const candles = makeCandles(candleCount);
  const server = await startClickHouse();
  const results = [];
  try {
    await measureStore('clickhouse', (fn) => timed(server.url, 'RowBinary', fn), { trades, candles, batchSizes }, results);
    // JSONEachRow beside RowBinary, for comparison.
    for (const batchSize of batchSizes) {
      const secs = await timed(server.url, 'JSONEachRow', (s) => direct(s, 'trades', trades, batchSize));
      results.push({ sink: 'clickhouse (JSONEachRow)', kind: 'trades', batchSize, rows: trades.length, seconds: secs, rowsPerSecond: trades.length / secs });
    }
  } finally {
    await server.stop();
  }
  return results;
}

// Run directly: node benchmarks/sinks/clickhouse.mjs [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await bench({ quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.sink.padEnd(26)} ${r.kind.padEnd(8)} batch ${String(r.batchSize).padStart(6)}  ${Math.round(r.rowsPerSecond).toLocaleString('en').padStart(11)} rows/s  (${r.rows} rows in ${r.seconds.toFixed(2)} s)`);
}
