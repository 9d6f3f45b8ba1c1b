// The backfill benchmark: `tickflow aggregate` against chDB (ClickHouse 26 in
// process) on the same trade file, whole process each (start, read, parse,
// aggregate, write), side by side: every run goes through the contenders in
// turn (interleaved), best of N, and the candles must agree.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt } from '../format.mjs';
import { writeTrades } from './generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const cli = join(repo, 'examples', 'dashboard', 'dist', 'cli.js');

/** Runs a command to its end; resolves with the wall time in seconds and the peak RSS (from /proc via `time`-less accounting: the child's own maxRSS is not visible, so RSS is left out). */
function timed(args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}:\n${err}`));
      else resolve({ seconds, stderr: err });
    });
  });
}

/** Order-independent fingerprint of 1m candles over the fields both engines compute exactly. */
function fingerprint(rows) {
  const keys = rows.map((c) => `${c.symbol}|${c.start}|${c.open}|${c.high}|${c.low}|${c.close}|${c.volume}|${c.trades}|${c.buyVolume}|${c.sellVolume}`).sort();
  let h = 2166136261;
  for (const r of keys) for (let i = 0; i < r.length; i++) h = Math.imul(h ^ r.charCodeAt(i), 16777619);
  return `${keys.length}:${(h >>> 0).toString(16)}`;
}

/**
 * `timed`, again after a pause while the build output is missing: on a shared
 * checkout another build may be rewriting dist/ (tsup cleans it first).
 */
async function timedRetrying(args) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await timed(args);
    } catch (e) {
      if (attempt >= 40 || !/Cannot find module|ERR_MODULE_NOT_FOUND/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

const readRows = (file) => readFileSync(file, 'utf8').trim().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      trades: { type: 'string' },
      symbols: { type: 'string' },
      runs: { type: 'string' },
      formats: { type: 'string' },
      threads: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const trades = Number(values.trades ?? (values.quick ? 500_000 : 2_000_000));
  const symbols = Number(values.symbols ?? 100);
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  const formats = (values.formats ?? 'ndjson,csv').split(',');
  const threadCounts = (values.threads ?? '1,2').split(',').map(Number);
  const { loadChdb, chdbCacheDir } = await import('@tickflow/test-services');
  await loadChdb(); // installs chDB into .cache/chdb on first use (not timed)
  const chdbDir = chdbCacheDir();
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-backfill-'));
  const results = [];
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  const loadBefore = load();
  console.log(`backfill benchmark: ${fmt(trades)} trades, ${symbols} symbols → 1m OHLCV, whole process, best of ${runs} (interleaved); node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${loadBefore}`);
  try {
    for (const format of formats) {
      const input = join(dir, `trades.${format}`);
      await writeTrades(input, format, { trades, symbols });
      const contenders = [
        ...threadCounts.map((t) => ({
          name: `tickflow --threads ${t}`,
          out: join(dir, `tickflow-${t}.ndjson`),
          args: (out) => [cli, 'aggregate', '--timeframe', '1m', '--threads', String(t), '--input', input, '--out', out],
        })),
        { name: 'chDB', out: join(dir, 'chdb.ndjson'), args: (out) => [join(here, 'chdbChild.mjs'), input, format, out, chdbDir] },
      ];
      const best = new Map();
      for (let r = 0; r < runs; r++) {
        for (const c of contenders) {
          const { seconds } = await timedRetrying(c.args(c.out));
          const prev = best.get(c.name);
          best.set(c.name, { seconds: Math.min(prev?.seconds ?? Infinity, seconds), all: [...(prev?.all ?? []), Number(seconds.toFixed(3))] });
        }
      }
      const chdbPrints = fingerprint(readRows(contenders.at(-1).out));
      const chdbSeconds = best.get('chDB').seconds;
      for (const c of contenders) {
        const rows = readRows(c.out);
        const print = fingerprint(rows);
        const { seconds, all } = best.get(c.name);
        const sorted = [...all].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)];
        const row = { format, contender: c.name, trades, symbols, seconds, median, runs: all, tradesPerSecond: trades / seconds, vsChdb: chdbSeconds / seconds, candles: rows.length, fingerprint: print, sameAsChdb: print === chdbPrints };
        results.push(row);
        console.log(`  ${format.padEnd(6)} ${c.name.padEnd(20)} ${seconds.toFixed(2).padStart(6)} s (median ${median.toFixed(2)} s)  ${fmt(row.tradesPerSecond).padStart(9)} trades/s  ${row.vsChdb.toFixed(2)}× chDB's speed  ${row.candles} candles ${print}${row.sameAsChdb ? '' : '  DIFFERENT FROM chDB'}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(here, '..', 'results'), { recursive: true });
  const loadAfter = load();
  console.log(`  load average at the end: ${loadAfter}`);
  writeFileSync(join(here, '..', 'results', 'backfill.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAverage: { before: loadBefore, after: loadAfter }, results }, null, 2)}\n`);
  return results.every((r) => r.sameAsChdb) ? 0 : 1;
}
