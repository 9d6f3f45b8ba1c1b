// The windowing benchmark: every contender in its own process over the same
// synthetic trades, through 1m OHLCV; then a memory series for tickflow.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareBaseline } from './baseline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const JS_IMPLS = ['tickflow-columnar', 'tickflow-batch', 'tickflow-event', 'naive-map', 'rxjs'];

function child(script, args, baselineLib) {
  const pre = baselineLib === undefined ? [] : ['--import', join(here, 'baselineHooks.mjs')];
  const env = baselineLib === undefined ? process.env : { ...process.env, TICKFLOW_BASELINE_LIB: baselineLib };
  const r = spawnSync(process.execPath, [...pre, '--expose-gc', '--max-old-space-size=16384', join(here, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The CPU as /proc/cpuinfo names it (model, clock, cache), else as os.cpus() does. */
export function cpuDescription() {
  const list = cpus();
  let model = list[0]?.model ?? 'unknown CPU';
  let extra = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
    model = field('model name') ?? model;
    const parts = [field('cpu MHz') && `${Math.round(Number(field('cpu MHz')))} MHz`, field('cache size') && `cache ${field('cache size')}`, field('cpu family') && `family ${field('cpu family')} model ${field('model')}`].filter(Boolean);
    extra = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  } catch {
    // Not Linux: os.cpus() is all there is.
  }
  return `${list.length} × ${model}${extra}`;
}

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      trades: { type: 'string' },
      symbols: { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean' },
      'no-chdb': { type: 'boolean' },
      'no-memory': { type: 'boolean' },
      runs: { type: 'string' },
      baseline: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const trades = Number(values.trades ?? (quick ? 1_000_000 : 10_000_000));
  const symbolCounts = (values.symbols ?? '100,10000').split(',').map(Number);
  const only = values.only?.split(',');
  const impls = JS_IMPLS.filter((i) => !only || only.includes(i));
  const withChdb = !values['no-chdb'] && (!only || only.includes('chdb'));
  const runs = Number(values.runs ?? (quick ? 1 : 5));
  // Contenders of this run; with --baseline, the tickflow ones again as built from that revision.
  const contenders = impls.map((impl) => ({ impl, name: impl, lib: undefined }));
  let baseline;
  if (values.baseline !== undefined) {
    baseline = await prepareBaseline(values.baseline);
    for (const impl of impls.filter((i) => i.startsWith('tickflow'))) contenders.push({ impl, name: `${impl}@${baseline.commit.slice(0, 7)}`, lib: baseline.lib });
  }
  const cpu = cpuDescription();
  const loadBefore = loadavg();
  if (quick) {
    console.log('SMOKE RUN (--quick): 1 M trades, one run each. It checks that every contender runs and agrees; its throughput and ratios are NOT comparable with the full run (JIT warm-up and the machine\'s load dominate short runs). results/windowing.json is left alone.');
  }
  console.log(`windowing benchmark: ${fmt(trades)} trades → 1m OHLCV; ${runs} round(s), contenders interleaved within each round, medians reported; node ${process.version}; ${cpu}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}${baseline ? `; baseline ${baseline.commit.slice(0, 7)}` : ''}`);
  const results = [];
  for (const symbols of symbolCounts) {
    // Interleaved rounds: each round runs every contender once (starting at a different one each
    // round), so load that drifts during the run hits every contender alike, and ratios are
    // taken within a round before their median.
    const rounds = [];
    for (let r = 0; r < runs; r++) {
      const round = new Map();
      for (let j = 0; j < contenders.length; j++) {
        const c = contenders[(j + r) % contenders.length];
        round.set(c.name, child('child.mjs', [c.impl, String(symbols), String(trades)], c.lib));
      }
      rounds.push(round);
    }
    const ratio = (name, base) => (rounds.every((rd) => rd.has(base)) ? median(rounds.map((rd) => rd.get(name).tradesPerSecond / rd.get(base).tradesPerSecond)) : undefined);
    const cpuRatio = (name, base) => (rounds.every((rd) => rd.has(base)) ? median(rounds.map((rd) => rd.get(base).cpuSeconds / rd.get(name).cpuSeconds)) : undefined);
    for (const c of contenders) {
      const rs = rounds.map((rd) => rd.get(c.name));
      const tps = median(rs.map((x) => x.tradesPerSecond));
      const cpuTps = median(rs.map((x) => x.trades / x.cpuSeconds));
      const r = {
        ...rs[0],
        impl: c.name,
        tradesPerSecond: tps,
        cpuTradesPerSecond: cpuTps,
        peakRssMb: median(rs.map((x) => x.peakRssMb)),
        vsNaive: ratio(c.name, 'naive-map'),
        vsRxjs: ratio(c.name, 'rxjs'),
        cpuVsNaive: cpuRatio(c.name, 'naive-map'),
        cpuVsRxjs: cpuRatio(c.name, 'rxjs'),
        runs: rs.map((x) => Math.round(x.tradesPerSecond)),
        fingerprints: [...new Set(rs.map((x) => x.fingerprint))],
      };
      results.push(r);
      const vs = [r.vsNaive === undefined ? '' : `${r.vsNaive.toFixed(2)}× naive-map (CPU ${r.cpuVsNaive.toFixed(2)}×)`, r.vsRxjs === undefined ? '' : `${r.vsRxjs.toFixed(1)}× rxjs (CPU ${r.cpuVsRxjs.toFixed(1)}×)`].filter(Boolean).join(', ');
      console.log(`  ${symbols} symbols  ${c.name.padEnd(26)} ${fmt(tps).padStart(9)} trades/s (CPU time: ${fmt(cpuTps)}/s)  ${vs}  runs ${r.runs.map(fmt).join(' / ')}  peak RSS ${r.peakRssMb.toFixed(0)} MB  ${r.candles} candles  ${r.fingerprint}`);
    }
    if (withChdb) {
      const r = child('chdbChild.mjs', [String(symbols), String(trades)]);
      results.push(r);
      console.log(`  ${symbols} symbols  ${'chdb'.padEnd(26)} ${fmt(r.tradesPerSecond).padStart(9)} trades/s  (load ${r.loadSeconds.toFixed(2)} s + query ${r.querySeconds.toFixed(2)} s; query alone ${fmt(r.trades / r.querySeconds)}/s)  peak RSS ${r.peakRssMb.toFixed(0)} MB  ${r.candles} candles  ${r.fingerprint}`);
    }
  }
  let agree = true;
  for (const symbols of symbolCounts) {
    const prints = new Set(results.filter((r) => r.symbols === symbols).flatMap((r) => r.fingerprints ?? [r.fingerprint]));
    if (prints.size !== 1) agree = false;
  }
  console.log(agree ? 'results agree: every implementation produced identical candles' : 'RESULTS DIFFER between implementations');

  const memory = [];
  if (!values['no-memory']) {
    for (const impl of ['tickflow-columnar', 'tickflow-event']) {
      for (const n of [trades / 10, (trades * 3) / 10, trades]) {
        const r = child('child.mjs', [impl, String(Math.max(...symbolCounts)), String(Math.round(n)), 'count']);
        memory.push(r);
        console.log(`  memory: ${impl} ${fmt(r.trades)} trades → peak RSS ${r.peakRssMb.toFixed(0)} MB (base ${r.baseRssMb.toFixed(0)} MB)`);
      }
    }
  }
  const loadAfter = loadavg();
  console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
  if (!quick) {
    const outDir = join(here, '..', 'results');
    if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
    const record = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu, loadBefore, loadAfter, trades, runs, baseline: baseline?.commit, results, memory, agree };
    writeFileSync(join(outDir, 'windowing.json'), `${JSON.stringify(record, null, 2)}\n`);
  }
  console.log(`\n${quick ? '(smoke run: not comparable with the full run)\n' : ''}${table(results, memory)}`);
  return agree ? 0 : 1;
}

function table(results, memory) {
  const lines = ['| symbols | contender | trades/s | × naive-map | × RxJS | trades/s of CPU time | × naive-map (CPU) | × RxJS (CPU) | peak RSS |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of results) {
    const name = r.impl === 'chdb' ? `chDB (load + query; query alone ${fmt(r.trades / r.querySeconds)}/s)` : r.impl;
    const x = (v) => (v === undefined ? '' : v.toFixed(2));
    lines.push(`| ${r.symbols} | ${name} | ${fmt(r.tradesPerSecond)} | ${x(r.vsNaive)} | ${x(r.vsRxjs)} | ${r.cpuTradesPerSecond === undefined ? '' : fmt(r.cpuTradesPerSecond)} | ${x(r.cpuVsNaive)} | ${x(r.cpuVsRxjs)} | ${r.peakRssMb.toFixed(0)} MB |`);
  }
  if (memory.length > 0) {
    lines.push('', '| implementation | trades | peak RSS |', '|---|---:|---:|');
    for (const m of memory) lines.push(`| ${m.impl} (${m.symbols} symbols) | ${fmt(m.trades)} | ${m.peakRssMb.toFixed(0)} MB |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
