// Redis sink throughput: synthetic trades (price updates: latest price per
// symbol, bounded history, one update message per batch) and candles (latest
// window per symbol and timeframe, conditional on (start, rev) in Lua) written
// from one Node process into a local Redis 7 (Debian's, started by
// @tickflow/test-services, or the server REDIS_URL points at), at a few batch
// sizes: directly through the store (one pipelined round trip per batch, one
// batch in flight) and through a pipeline into a sink. Each measurement uses
// a key prefix of its own, deleted afterwards.
import { MarketSimulator, fromArray, pipeline } from '@tickflow/core';
import { RedisStore } from '@tickflow/sinks/redis';
import { redisQuery, startRedis } from '@tickflow/test-services';

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

let prefixSeq = 0;

/** Runs `fn(store)` with a fresh key prefix and returns its duration in seconds. */
async function timed(server, fn) {
  const keyPrefix = `tickflow-bench:${process.pid}:${prefixSeq++}:`;
  const store = await RedisStore.connect({ url: server.url, keyPrefix, historyLength: 1_000, log: () => {} });
  try {
    const t0 = process.hrtime.bigint();
    await fn(store);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    await store.close();
    await redisQuery(server.port, ['EVAL', "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end return 0", '0', `${keyPrefix}*`], server.host);
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
  const server = await startRedis();
  const results = [];
  const record = (sink, kind, batchSize, rows, seconds) => {
    results.push({ sink, kind, batchSize, rows, seconds, rowsPerSecond: rows / seconds });
  };
  try {
    for (const batchSize of batchSizes) {
      record('redis', 'trades', batchSize, trades.length, await timed(server, (s) => direct(s, 'trades', trades, batchSize)));
      record('redis (sink)', 'trades', batchSize, trades.length, await timed(server, (s) => viaSink(s, 'trades', trades, batchSize)));
      record('redis', 'candles', batchSize, candles.length, await timed(server, (s) => direct(s, 'candles', candles, batchSize)));
      record('redis (sink)', 'candles', batchSize, candles.length, await timed(server, (s) => viaSink(s, 'candles', candles, batchSize)));
    }
  } finally {
    await server.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench({ quick: process.argv.includes('--quick') })) {
    console.log(`${r.sink.padEnd(14)} ${r.kind.padEnd(8)} batch ${String(r.batchSize).padStart(6)}  ${Math.round(r.rowsPerSecond).toLocaleString('en').padStart(10)} rows/s  (${r.rows} rows in ${r.seconds.toFixed(2)} s)`);
  }
}
