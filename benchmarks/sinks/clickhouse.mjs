// ClickHouse sink throughput: synthetic trades and candles written from one
// Node process into a local ClickHouse (Debian's 18.16, started by
// @tickflow/test-services, or the server CLICKHOUSE_URL points at), at a few
// batch sizes: directly through the store (one insert in flight) and through
// a pipeline into a sink. RowBinary is the store's default insert format; one
// JSONEachRow row per batch size is measured beside it for comparison.
// Each measurement writes into a fresh database, dropped afterwards.
import { MarketSimulator, fromArray, pipeline } from '@tickflow/core';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { startClickHouse } from '@tickflow/test-services';

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
    const t0 = process.hrtime.bigint();
    await fn(store);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    await store.close();
    await sql(url, `DROP DATABASE IF EXISTS ${database}`);
  }
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

export async function bench({ quick = false } = {}) {
  const tradeCount = quick ? 100_000 : 1_000_000;
  const candleCount = quick ? 50_000 : 500_000;
  const batchSizes = quick ? [10_000] : [1_000, 10_000, 50_000];
  const trades = makeTrades(tradeCount);
  const candles = makeCandles(candleCount);
  const server = await startClickHouse();
  const results = [];
  const record = (sink, kind, batchSize, rows, seconds) => {
    results.push({ sink, kind, batchSize, rows, seconds, rowsPerSecond: rows / seconds });
  };
  try {
    for (const batchSize of batchSizes) {
      record('clickhouse', 'trades', batchSize, trades.length, await timed(server.url, 'RowBinary', (s) => direct(s, 'trades', trades, batchSize)));
      record('clickhouse (sink)', 'trades', batchSize, trades.length, await timed(server.url, 'RowBinary', (s) => viaSink(s, 'trades', trades, batchSize)));
      record('clickhouse (JSONEachRow)', 'trades', batchSize, trades.length, await timed(server.url, 'JSONEachRow', (s) => direct(s, 'trades', trades, batchSize)));
      record('clickhouse', 'candles', batchSize, candles.length, await timed(server.url, 'RowBinary', (s) => direct(s, 'candles', candles, batchSize)));
      record('clickhouse (sink)', 'candles', batchSize, candles.length, await timed(server.url, 'RowBinary', (s) => viaSink(s, 'candles', candles, batchSize)));
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
