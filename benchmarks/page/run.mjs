// `npm run bench -- page [--symbols 50] [--rates 1000,5000] [--seconds 15] [--quick]`:
// smoothness of the dashboard page under load. The built `tickflow serve`
// runs in a child process (synthetic feed, N symbols at a high trade rate);
// Debian's Chromium (headless, playwright-core) opens the page on the
// desktop viewport and, after a warm-up, records for `seconds`:
//   - long tasks (PerformanceObserver 'longtask': main-thread tasks > 50 ms),
//   - frame gaps (time between requestAnimationFrame callbacks),
//   - the renderer's main-thread time by kind (CDP Performance.getMetrics),
//   - batches received and paints done by the page (window.tickflowPage).
// A third into the run it switches symbol, two thirds in the timeframe (1m → 5m),
// as a user would. Writes benchmarks/results/page.json. The target: no frame gap over 50 ms.
// --trace also records a Chromium performance trace of the window
// (test-output/page-trace-<rate>.json, open it in DevTools) and prints what
// the main thread did inside each task over 50 ms.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureDebianPrograms } from '@tickflow/test-services';
import { fmt } from '../format.mjs';

const CLI = fileURLToPath(new URL('../../examples/dashboard/dist/cli.js', import.meta.url));
const WEB = fileURLToPath(new URL('../../examples/dashboard/dist/web/index.html', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Installed before the page's own scripts: long-task and frame-gap recorders, started by `__bench.start()`. */
const RECORDER = `
(() => {
  const b = { recording: false, longTasks: [], gaps: [], slow: [], marks: [], last: 0, t0: 0 };
  new PerformanceObserver((list) => {
    if (!b.recording) return;
    for (const e of list.getEntries()) b.longTasks.push({ at: Math.round(e.startTime - b.t0), ms: Math.round(e.duration) });
  }).observe({ type: 'longtask', buffered: false });
  const frame = (t) => {
    if (b.recording && b.last !== 0) {
      b.gaps.push(t - b.last);
      if (t - b.last > 50) b.slow.push({ at: Math.round(b.last - b.t0), ms: Math.round(t - b.last) });
    }
    b.last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  b.start = () => { b.longTasks = []; b.gaps = []; b.slow = []; b.marks = []; b.last = 0; b.t0 = performance.now(); b.recording = true; };
  b.mark = (what) => b.marks.push({ at: Math.round(performance.now() - b.t0), what });
  b.stop = () => { b.recording = false; return { longTasks: b.longTasks, gaps: b.gaps, slow: b.slow, marks: b.marks }; };
  window.__bench = b;
})();`;

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function startServer(symbols, rate, dir) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--symbols', String(symbols), '--rate', String(rate), '--log-level', 'warn', '--data-dir', dir], {
    env: { ...process.env, JWT_SECRET: 'bench-page-secret-bench-page-secret!', PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /live dashboard on (http:\/\/[\d.:]+)/.exec(out);
      if (m !== null) {
        clearInterval(t);
        resolve(m[1]);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(t);
      reject(new Error(`tickflow serve exited with ${code}:\n${out}`));
    });
  });
  return { url, stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))) };
}

/**
 * What the renderer's main thread did inside each task over 50 ms of a Chromium trace:
 * per long task, the events nested in it summed by name (a rough breakdown, not self time).
 */
function longTasksOfTrace(trace) {
  const events = trace.traceEvents ?? trace;
  const mainThreads = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => e.ph === 'X' && mainThreads.has(`${e.pid}:${e.tid}`));
  const tasks = onMain.filter((e) => e.name === 'RunTask' && e.dur > 50_000);
  return tasks.map((t) => {
    const inside = {};
    for (const e of onMain) {
      if (e === t || e.ts < t.ts || e.ts + (e.dur ?? 0) > t.ts + t.dur || e.name === 'RunTask') continue;
      inside[e.name] = (inside[e.name] ?? 0) + (e.dur ?? 0) / 1000;
    }
    const top = Object.entries(inside).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`);
    return { ms: Math.round(t.dur / 1000), inside: top };
  });
}

async function runOne(browser, { symbols, rate, seconds, warmup, trace }) {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-bench-page-'));
  const server = await startServer(symbols, rate, dir);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    await page.addInitScript({ content: RECORDER });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(server.url);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 0, undefined, { timeout: 20_000 });
    await page.waitForTimeout(warmup * 1000);
    const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const m0 = await metric();
    const p0 = await page.evaluate(() => ({ batches: window.tickflowPage.batches, paints: window.tickflowPage.paints }));
    const tracePath = fileURLToPath(new URL(`../../test-output/page-trace-${rate}.json`, import.meta.url));
    if (trace) {
      mkdirSync(fileURLToPath(new URL('../../test-output/', import.meta.url)), { recursive: true });
      await browser.startTracing(page, { path: tracePath, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink.user_timing'] });
    }
    await page.evaluate(() => window.__bench.start());
    const t0 = Date.now();
    await page.waitForTimeout((seconds * 1000) / 3);
    await page.evaluate(() => window.__bench.mark('symbol switch'));
    await page.selectOption('#symbol', `SYM${String(Math.min(symbols, 7)).padStart(4, '0')}`);
    await page.waitForTimeout((seconds * 1000) / 3);
    await page.evaluate(() => window.__bench.mark('timeframe switch'));
    await page.click('#timeframes button[data-tf="5m"]');
    await page.waitForTimeout((seconds * 1000) / 3);
    const rec = await page.evaluate(() => window.__bench.stop());
    const elapsed = (Date.now() - t0) / 1000;
    const traced = trace ? longTasksOfTrace(JSON.parse((await browser.stopTracing()).toString('utf8'))) : undefined;
    const m1 = await metric();
    const p1 = await page.evaluate(() => ({ batches: window.tickflowPage.batches, paints: window.tickflowPage.paints, heapMb: performance.memory === undefined ? 0 : performance.memory.usedJSHeapSize / 1e6 }));
    const gaps = rec.gaps.slice().sort((a, b) => a - b);
    const longs = rec.longTasks.map((t) => t.ms).sort((a, b) => a - b);
    const share = (k) => (m1[k] - m0[k]) / elapsed;
    return {
      symbols,
      offeredTradesPerSecond: rate,
      seconds: Number(elapsed.toFixed(1)),
      frames: gaps.length,
      framesPerSecond: Number((gaps.length / elapsed).toFixed(1)),
      frameGapP50Ms: Number(quantile(gaps, 0.5).toFixed(1)),
      frameGapP99Ms: Number(quantile(gaps, 0.99).toFixed(1)),
      frameGapMaxMs: Number((gaps.at(-1) ?? 0).toFixed(1)),
      framesOver50Ms: gaps.filter((g) => g > 50).length,
      longTasks: longs.length,
      longTaskMaxMs: Number((longs.at(-1) ?? 0).toFixed(1)),
      batchesPerSecond: Number(((p1.batches - p0.batches) / elapsed).toFixed(1)),
      paintsPerSecond: Number(((p1.paints - p0.paints) / elapsed).toFixed(1)),
      // Fractions of wall time the renderer's main thread spent on each kind of work.
      mainThreadBusy: Number(share('TaskDuration').toFixed(3)),
      scriptShare: Number(share('ScriptDuration').toFixed(3)),
      layoutShare: Number(share('LayoutDuration').toFixed(3)),
      styleShare: Number(share('RecalcStyleDuration').toFixed(3)),
      jsHeapMb: Number(p1.heapMb.toFixed(1)),
      pageErrors: errors.length,
      // When (ms after the start of recording) the slow frames and long tasks happened, next to the interactions.
      timeline: { interactions: rec.marks, framesOver50Ms: rec.slow, longTasks: rec.longTasks },
      ...(traced === undefined ? {} : { tracedLongTasks: traced, trace: tracePath }),
    };
  } finally {
    await page.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(args) {
  const { values } = parseArgs({
    args,
    options: { trace: { type: 'boolean', default: false }, symbols: { type: 'string', default: '50' }, rates: { type: 'string', default: '1000,5000' }, seconds: { type: 'string', default: '15' }, quick: { type: 'boolean', default: false } },
  });
  if (!existsSync(CLI) || !existsSync(WEB)) {
    console.error(`the dashboard is not built (${existsSync(CLI) ? WEB : CLI} is missing): run npm run build`);
    return 1;
  }
  if (process.env.CHROMIUM_PATH === undefined) await ensureDebianPrograms([{ binary: CHROMIUM, pkg: 'chromium' }], 'CHROMIUM_PATH');
  const symbols = Number(values.symbols);
  const rates = values.rates.split(',').map(Number);
  const seconds = values.quick ? 5 : Number(values.seconds);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const runs = [];
  try {
    for (const rate of rates) {
      console.log(`page: ${symbols} symbols, ${fmt(rate)} trades/s offered, ${seconds} s …`);
      const r = await runOne(browser, { symbols, rate, seconds, warmup: values.quick ? 1 : 3, trace: values.trace });
      runs.push(r);
      console.log(
        `  frames ${r.framesPerSecond}/s, gap p50 ${r.frameGapP50Ms} ms, p99 ${r.frameGapP99Ms} ms, max ${r.frameGapMaxMs} ms, > 50 ms: ${r.framesOver50Ms}; ` +
          `long tasks ${r.longTasks} (max ${r.longTaskMaxMs} ms); batches ${r.batchesPerSecond}/s, paints ${r.paintsPerSecond}/s; main thread busy ${(r.mainThreadBusy * 100).toFixed(1)}% (script ${(r.scriptShare * 100).toFixed(1)}%)`,
      );
      for (const t of r.tracedLongTasks ?? []) console.log(`    long task ${t.ms} ms: ${t.inside.join(', ')}`);
    }
  } finally {
    await browser.close();
  }
  const version = browser.version();
  const result = {
    suite: 'page',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version, chromium: version },
    target: 'no frame gap over 50 ms',
    runs,
  };
  const out = fileURLToPath(new URL('../results/page.json', import.meta.url));
  mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
  return runs.every((r) => r.pageErrors === 0) ? 0 : 1;
}
