// The correlation benchmark: `correlation()` over 500 symbols (every pair, every
// 1m interval) against a recompute-from-scratch baseline (a two-pass Pearson of
// every pair over its last N returns at each interval), each in its own process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 14, 30, 0);

function child(args) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', fileURLToPath(import.meta.url), 'child', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`correlation child ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/**
 * Seeded prices: a market factor plus noise per symbol (betas 0.5–1.5), two
 * trades per symbol per minute; the close of each minute is the second one.
 */
function* minutesOfTrades(symbols, intervals, seed = 42) {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const names = Array.from({ length: symbols }, (_, i) => `S${String(i).padStart(4, '0')}`);
  const beta = names.map(() => 0.5 + rnd());
  const price = names.map(() => 20 + rnd() * 200);
  for (let k = 0; k < intervals; k++) {
    const market = (rnd() - 0.5) * 0.004;
    const batch = [];
    for (let i = 0; i < symbols; i++) {
      price[i] *= Math.exp(beta[i] * market + (rnd() - 0.5) * 0.004);
      batch.push({ symbol: names[i], ts: T0 + k * MIN + 1_000 + i, price: price[i] * (1 + (rnd() - 0.5) * 1e-4), size: 1 });
      batch.push({ symbol: names[i], ts: T0 + k * MIN + 30_000 + i, price: price[i], size: 1 });
    }
    yield batch;
  }
}

/** Fingerprint of the last matrix, to check the contenders agree. */
function lastRow(values, n) {
  let sum = 0;
  for (let i = 0; i < n * n; i++) if (!Number.isNaN(values[i])) sum += values[i];
  return sum;
}

/** CPU seconds (user + system) of this process since `from`: less sensitive than wall time to other load on the machine. */
const cpuSince = (from) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

const retained = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function runTickflow(symbols, lookback, intervals) {
  const { pipeline, keyBy } = await import('@tickflow/core');
  const { correlation } = await import('@tickflow/windowing');
  const before = retained();
  let rows = 0;
  let fingerprint = 0;
  const job = pipeline().pipe(keyBy('symbol'), correlation({ interval: '1m', lookback })).to((m) => {
    rows++;
    fingerprint = lastRow(m.values, m.symbols.length);
  });
  let seconds = 0;
  let k = 0;
  let stateMb = 0;
  let cpu = 0;
  for (const batch of minutesOfTrades(symbols, intervals)) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    job.pushBatch(batch);
    cpu += cpuSince(c);
    seconds += Number(process.hrtime.bigint() - t) / 1e9;
    // The operator's state, measured once the lookback is full: what stays reachable with the job alive.
    if (++k === intervals - 1) stateMb = (retained() - before) / 2 ** 20;
  }
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await job.end();
  cpu += cpuSince(c);
  seconds += Number(process.hrtime.bigint() - t) / 1e9;
  return { rows, seconds, cpu, fingerprint, stateMb };
}

/** The baseline: returns in per-symbol arrays, every pair recomputed by two passes at each interval. */
async function runBaseline(symbols, lookback, intervals) {
  const before = retained();
  const ring = Array.from({ length: symbols }, () => new Float64Array(lookback));
  const last = new Float64Array(symbols);
  let rows = 0;
  let values = null;
  let seconds = 0;
  let cpu = 0;
  let k = 0;
  for (const batch of minutesOfTrades(symbols, intervals)) {
    const t = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const close = new Float64Array(symbols);
    for (let i = 0; i < batch.length; i++) close[Math.floor(i / 2)] = batch[i].price;
    if (k > 0) {
      const m = k - 1;
      for (let s = 0; s < symbols; s++) ring[s][m % lookback] = Math.log(close[s] / last[s]);
      const n = Math.min(m + 1, lookback);
      if (n >= 2) {
        values = new Float64Array(symbols * symbols);
        const mean = new Float64Array(symbols);
        for (let s = 0; s < symbols; s++) {
          let sum = 0;
          for (let q = 0; q < n; q++) sum += ring[s][q];
          mean[s] = sum / n;
        }
        for (let a = 0; a < symbols; a++) {
          const ra = ring[a];
          const ma = mean[a];
          for (let b = a; b < symbols; b++) {
            const rb = ring[b];
            const mb = mean[b];
            let vx = 0, vy = 0, c = 0;
            for (let q = 0; q < n; q++) {
              const dx = ra[q] - ma;
              const dy = rb[q] - mb;
              vx += dx * dx;
              vy += dy * dy;
              c += dx * dy;
            }
            const r = a === b ? 1 : c / Math.sqrt(vx * vy);
            values[a * symbols + b] = r;
            values[b * symbols + a] = r;
          }
        }
        rows++;
      }
    }
    last.set(close);
    k++;
    cpu += cpuSince(c0);
    seconds += Number(process.hrtime.bigint() - t) / 1e9;
  }
  const stateMb = (retained() - before) / 2 ** 20;
  return { rows, seconds, cpu, fingerprint: lastRow(values, symbols), stateMb };
}

async function childMain([impl, symbolsArg, lookbackArg, intervalsArg]) {
  const symbols = Number(symbolsArg);
  const lookback = Number(lookbackArg);
  const intervals = Number(intervalsArg);
  const r = impl === 'tickflow' ? await runTickflow(symbols, lookback, intervals) : await runBaseline(symbols, lookback, intervals);
  const pairs = (symbols * (symbols - 1)) / 2;
  const out = {
    impl,
    symbols,
    lookback,
    intervals,
    rows: r.rows,
    seconds: r.seconds,
    cpuSeconds: r.cpu,
    msPerInterval: (r.seconds * 1000) / intervals,
    cpuMsPerInterval: (r.cpu * 1000) / intervals,
    pairsPerSecond: (pairs * r.rows) / r.seconds,
    pairsPerCpuSecond: (pairs * r.rows) / r.cpu,
    stateMb: r.stateMb,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    fingerprint: r.fingerprint,
  };
  console.log(JSON.stringify(out));
}

const fmt = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);

export async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { symbols: { type: 'string' }, lookbacks: { type: 'string' }, quick: { type: 'boolean' }, only: { type: 'string' } } });
  const symbols = Number(values.symbols ?? 500);
  const lookbacks = (values.lookbacks ?? '60,390').split(',').map(Number);
  const impls = ['tickflow', 'recompute'].filter((i) => !values.only || values.only.split(',').includes(i));
  console.log(`correlation benchmark: ${symbols} symbols (${fmt((symbols * (symbols - 1)) / 2)} pairs), 1m returns; node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  const results = [];
  let agree = true;
  for (const lookback of lookbacks) {
    // Enough intervals for the lookback to fill and slide past two rebuilds.
    const intervals = values.quick ? lookback + 20 : Math.max(300, lookback * 3);
    const prints = [];
    for (const impl of impls) {
      const r = child([impl, String(symbols), String(lookback), String(intervals)]);
      results.push(r);
      prints.push(r.fingerprint);
      console.log(`  lookback ${String(lookback).padStart(4)}  ${impl.padEnd(10)} ${fmt(r.pairsPerSecond).padStart(9)} pairs/s (${fmt(r.pairsPerCpuSecond)} per CPU s)  ${r.msPerInterval.toFixed(2).padStart(8)} ms per interval (${r.cpuMsPerInterval.toFixed(2)} CPU ms)  state ${r.stateMb.toFixed(1)} MB  peak RSS ${r.peakRssMb.toFixed(0)} MB  (${r.rows} matrices)`);
    }
    // Both compute the last matrix over the same returns: the sums of r agree to rounding.
    if (prints.length === 2 && Math.abs(prints[0] - prints[1]) > 1e-6 * symbols * symbols) agree = false;
  }
  console.log(agree ? 'results agree: the last matrices match' : 'RESULTS DIFFER between implementations');
  if (!values.quick && !values.only) {
    const outDir = join(here, '..', 'results');
    if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'correlation.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, results, agree }, null, 2)}\n`);
  }
  return agree ? 0 : 1;
}

if (process.argv[2] === 'child') await childMain(process.argv.slice(3));
else if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
