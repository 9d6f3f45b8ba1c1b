// Redis sink throughput: synthetic trades (price updates: latest price per
// symbol, bounded history, one update message per batch) and candles (latest
// window per symbol and timeframe, conditional on (start, rev) in Lua) written
// from one Node process into a local Redis 7 (Debian's, started by
// @tickflow/test-services, or the server REDIS_URL points at), at a few batch
// sizes: directly through the store (one pipelined round trip per batch, one
// batch in flight) and through a pipeline into a sink. Each measurement uses
// a key prefix of its own, deleted afterwards.
import { RedisStore } from '@tickflow/sinks/redis';
import { redisQuery, startRedis } from '@tickflow/test-services';
import { makeCandles, makeTrades, measureStore, seconds, workloadSize } from './workload.mjs';

let prefixSeq = 0;

/** Runs `fn(store)` with a fresh key prefix and returns its duration in seconds. */
async function timed(server, fn) {
  const keyPrefix = `tickflow-bench:${process.pid}:${prefixSeq++}:`;
  const store = await RedisStore.connect({ url: server.url, keyPrefix, historyLength: 1_000, log: () => {} });
  try {
    return await seconds(() => fn(store));
  } finally {
    await store.close();
    await redisQuery(server.port, ['EVAL', "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end return 0", '0', `${keyPrefix}*`], server.host);
  }
}

export async function bench({ quick = false } = {}) {
  const { tradeCount, candleCount, batchSizes } = workloadSize(quick);
  const trades = makeTrades(tradeCount);
  const candles = makeCandles(candleCount);
  const server = await startRedis();
  const results = [];
  try {
    await measureStore('redis', (fn) => timed(server, fn), { trades, candles, batchSizes }, results);
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
