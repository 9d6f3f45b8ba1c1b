// The workload every sink benchmark writes: the same synthetic trades and
// candles, written directly through a store (one batch in flight) and through
// a pipeline into the store's sink, at the same batch sizes.
import { fromArray, pipeline } from '@tickflow/core';
import { MarketSimulator } from '@tickflow/core/synthetic';

/** `count` synthetic trades over 100 symbols (seeded, each with an exchange id). */
export function makeTrades(count) {
  const sim = new MarketSimulator({ seed: 1, symbols: 100, rate: 5_000 });
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = sim.nextTrade();
  return out;
}

/** `count` final 1m candles over 1 000 symbols, one minute after another. */
export function makeCandles(count) {
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

/** Row counts and batch sizes of a full or a quick run. */
export function workloadSize(quick) {
  return { tradeCount: quick ? 100_000 : 1_000_000, candleCount: quick ? 50_000 : 500_000, batchSizes: quick ? [10_000] : [1_000, 10_000, 50_000] };
}

/** Writes `rows` through the store's own write method, one batch at a time. */
export async function direct(store, kind, rows, batchSize) {
  for (let i = 0; i < rows.length; i += batchSize) {
    const part = rows.slice(i, i + batchSize);
    if (kind === 'trades') await store.writeTrades(part);
    else await store.writeCandles(part);
  }
}

/** Writes `rows` through a pipeline into the store's sink, batches of `batchSize`. */
export async function viaSink(store, kind, rows, batchSize) {
  const sink = store.sink(kind, { maxBatchSize: batchSize, maxBufferedRows: Math.max(100_000, 4 * batchSize) });
  await pipeline(fromArray(rows, { batchSize: 8_192 })).to(sink).run();
  if (sink.stats.rowsWritten !== rows.length) throw new Error(`sink wrote ${sink.stats.rowsWritten} of ${rows.length} rows`);
}

/** Seconds `fn()` took. */
export async function seconds(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Measures trades and candles, direct and through the sink, at each batch
 * size; `timed(fn)` runs `fn(store)` on a fresh store and returns seconds.
 */
export async function measureStore(name, timed, { trades, candles, batchSizes }, results) {
  const record = (sink, kind, batchSize, rows, secs) => results.push({ sink, kind, batchSize, rows, seconds: secs, rowsPerSecond: rows / secs });
  for (const batchSize of batchSizes) {
    record(name, 'trades', batchSize, trades.length, await timed((s) => direct(s, 'trades', trades, batchSize)));
    record(`${name} (sink)`, 'trades', batchSize, trades.length, await timed((s) => viaSink(s, 'trades', trades, batchSize)));
    record(name, 'candles', batchSize, candles.length, await timed((s) => direct(s, 'candles', candles, batchSize)));
    record(`${name} (sink)`, 'candles', batchSize, candles.length, await timed((s) => viaSink(s, 'candles', candles, batchSize)));
  }
}
