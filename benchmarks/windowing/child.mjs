// One benchmark run in its own process: node child.mjs <impl> <symbols> <trades>
// Prints one JSON line: throughput over the measured push calls, peak RSS, fingerprint.
import { CHUNK, TradeGenerator, fingerprint } from './generator.mjs';
import { IMPLEMENTATIONS } from './implementations.mjs';

// mode "keep" (default) keeps every candle for the cross-check fingerprint; "count" keeps none,
// so peak memory is the engine's alone (the memory series).
const [impl, symbolsArg, tradesArg, mode = 'keep'] = process.argv.slice(2);
const symbols = Number(symbolsArg);
const trades = Number(tradesArg);
const make = IMPLEMENTATIONS[impl];
if (!make) throw new Error(`unknown implementation ${impl}`);

const gen = new TradeGenerator(symbols);
const candles = [];
let counted = 0;
// Keep only what the fingerprint needs, so collecting output costs the same for every contender.
const run = make(
  mode === 'count'
    ? () => counted++
    : (c) => candles.push({ symbol: c.symbol, start: c.start, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades }),
);
global.gc?.();
const baseRss = process.memoryUsage().rss;
let ns = 0n;
// Process CPU time of the same calls too: on a shared machine it counts only this process's work.
let cpuUs = 0;
for (let done = 0; done < trades; ) {
  const n = gen.next(Math.min(CHUNK, trades - done));
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  run.push(gen, n);
  ns += process.hrtime.bigint() - t0;
  const c = process.cpuUsage(c0);
  cpuUs += c.user + c.system;
  done += n;
}
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await run.end();
ns += process.hrtime.bigint() - t0;
const c = process.cpuUsage(c0);
cpuUs += c.user + c.system;
const seconds = Number(ns) / 1e9;
console.log(JSON.stringify({
  impl,
  symbols,
  trades,
  seconds,
  tradesPerSecond: trades / seconds,
  cpuSeconds: cpuUs / 1e6,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  baseRssMb: baseRss / 1024 / 1024,
  candles: mode === 'count' ? counted : candles.length,
  fingerprint: mode === 'count' ? null : fingerprint(candles),
}));
