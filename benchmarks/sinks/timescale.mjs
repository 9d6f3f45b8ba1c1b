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
import { MarketSimulator, fromArray, pipeline } from '@tickflow/core';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { startPostgres, startTimescale } from '@tickflow/test-services';
import postgres from 'postgres';

function makeTrades(count) {
  const sim = new MarketSimulator({ seed: 1, symbols: 100, rate: 5_000 });
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = sim.nextTrade();
  return out;
}

function makeCandles(count) {
  const symbols = 1_000;
  const t0 = Date.UTC(2024, 0, 19, 14, 30);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = t0 + Math.floor(i / symbols) * 60_000;
    const p = 100 + (i % 977) / 10;
    out[i] = { symbol: `SYM${String(i % symbols).padStart(4, '0')}`, timeframe: '1m', start, end: start + 60_000, open: p, high: p + 1, low: p - 1, close: p + 0.5, volume: 1_000 + (i % 13), trades: 10 + (i % 7), vwap: p + 0.25, buyVolume: 600, sellVolume: 400 + (i % 13), final: true, rev: 1 };
  }
  return out;
}

let schemaSeq = 0;

/** Runs `fn(store)` against a fresh schema and returns its duration in seconds. */
async function timed(url, fn) {
  const schema = `tickflow_bench_${process.pid}_${schemaSeq++}`;
  const store = await TimescaleStore.connect({ url, schema, aggregateRefresh: false, log: () => {} });
  let seconds;
  try {
    const t0 = process.hrtime.bigint();
    await fn(store);
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
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
  return seconds;
}

async function direct(store, kind, rows, batchSize) {
  for (let i = 0; i < rows.length; i += batchSize) {
    const part = rows.slice(i, i + batchSize);
    if (kind === 'trades') await store.writeTrades(part);
    else await store.writeCandles(part);
  }
}

async function viaSink(store, kind, rows, batchSize) {
  const sink = store.sink(kind, { maxBatchSize: batchSize, maxBufferedRows: Math.max(100_000, 4 * batchSize) });
  await pipeline(fromArray(rows, { batchSize: 8_192 })).to(sink).run();
  if (sink.stats.rowsWritten !== rows.length) throw new Error(`sink wrote ${sink.stats.rowsWritten} of ${rows.length} rows`);
}

async function measure(name, url, trades, candles, batchSizes, record) {
  for (const batchSize of batchSizes) {
    record(name, 'trades', batchSize, trades.length, await timed(url, (s) => direct(s, 'trades', trades, batchSize)));
    record(`${name} (sink)`, 'trades', batchSize, trades.length, await timed(url, (s) => viaSink(s, 'trades', trades, batchSize)));
    record(name, 'candles', batchSize, candles.length, await timed(url, (s) => direct(s, 'candles', candles, batchSize)));
    record(`${name} (sink)`, 'candles', batchSize, candles.length, await timed(url, (s) => viaSink(s, 'candles', candles, batchSize)));
  }
}

export async function bench({ quick = false } = {}) {
  const tradeCount = quick ? 100_000 : 1_000_000;
  const candleCount = quick ? 50_000 : 500_000;
  const batchSizes = quick ? [10_000] : [1_000, 10_000, 50_000];
  const trades = makeTrades(tradeCount);
  const candles = makeCandles(candleCount);
  const results = [];
  const record = (sink, kind, batchSize, rows, seconds) => {
    results.push({ sink, kind, batchSize, rows, seconds, rowsPerSecond: rows / seconds });
  };
  const pg = await startPostgres();
  try {
    await measure('timescale (PostgreSQL 15)', pg.url, trades, candles, batchSizes, record);
  } finally {
    await pg.stop();
  }
  const ts = await startTimescale();
  try {
    const fewer = quick ? 20_000 : 200_000;
    await measure('timescale (TimescaleDB/PGlite)', ts.url, trades.slice(0, fewer), candles.slice(0, fewer / 2), quick ? [10_000] : [1_000, 10_000], record);
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
