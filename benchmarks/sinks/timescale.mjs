// Timescale/PostgreSQL sink throughput: synthetic trades and candles written
// from one Node process, at a few batch sizes, directly through the store (one
// statement in flight) and through a pipeline into a sink, into
// - PostgreSQL 15 (Debian's, started by @tickflow/test-services, or the server
//   DATABASE_URL points at): plain tables (no timescaledb extension);
// - TimescaleDB 2.23 in PGlite (WASM PostgreSQL 17, one connection, served
//   over the wire protocol by the test services, or TIMESCALE_URL): hypertables.
//   Fewer rows there: it is a single-threaded WASM build, kept for comparison.
// Trades go in as one INSERT ... SELECT FROM unnest(<one array per column>)
// ON CONFLICT DO NOTHING per batch (idempotent on symbol, time, trade_key);
// candles as one upsert per batch keeping the highest rev. Each measurement
// writes into a fresh schema, dropped afterwards.
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { startPostgres, startTimescale } from '@tickflow/test-services';
import postgres from 'postgres';
import { makeCandles, makeTrades, measureStore, seconds, workloadSize } from './workload.mjs';

let schemaSeq = 0;

/** Runs `fn(store)` against a fresh schema and returns its duration in seconds. */
async function timed(url, fn) {
  const schema = `tickflow_bench_${process.pid}_${schemaSeq++}`;
  const store = await TimescaleStore.connect({ url, schema, aggregateRefresh: false, log: () => {} });
  let secs;
  try {
    secs = await seconds(() => fn(store));
  } finally {
    await store.close();
  }
  // After the store closed: a PGlite server takes one connection at a time.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await sql.end();
  }
  return secs;
}

export async function bench({ quick = false } = {}) {
  const { tradeCount, candleCount, batchSizes } = workloadSize(quick);
  const trades = makeTrades(tradeCount);
  const candles = makeCandles(candleCount);
  const results = [];
  const pg = await startPostgres();
  try {
    await measureStore('timescale (PostgreSQL 15)', (fn) => timed(pg.url, fn), { trades, candles, batchSizes }, results);
  } finally {
    await pg.stop();
  }
  const ts = await startTimescale();
  try {
    const fewer = quick ? 20_000 : 200_000;
    await measureStore('timescale (TimescaleDB/PGlite)', (fn) => timed(ts.url, fn), { trades: trades.slice(0, fewer), candles: candles.slice(0, fewer / 2), batchSizes: quick ? [10_000] : [1_000, 10_000] }, results);
  } finally {
    await ts.stop();
  }
  return results;
}

// Run directly: node benchmarks/sinks/timescale.mjs [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await bench({ quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.sink.padEnd(38)} ${r.kind.padEnd(8)} batch ${String(r.batchSize).padStart(6)}  ${Math.round(r.rowsPerSecond).toLocaleString('en').padStart(9)} rows/s  (${r.rows} rows in ${r.seconds.toFixed(2)} s)`);
}
