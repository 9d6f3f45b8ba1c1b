// `npm run bench -- fanout [--conns 100,1000,5000] [--rate 2000] [--seconds 5] [--quick]`:
// WebSocket fan-out of @tickflow/ws-server (built package). The server runs in
// this process, fed with trades over 100 symbols at a fixed offered rate; the
// clients run in a separate process (clients.mjs): N connections, each
// subscribed to 10 `trades:SYM` channels, so every trade reaches N/10
// connections. Reports updates/s delivered, p50/p99 latency (publish →
// decoded at the client), frames and bytes out, flush time, conflations.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { fmt } from '../format.mjs';

const SYMBOLS = 100;
const PER_CONN = 10;
const now = () => performance.timeOrigin + performance.now();

function waitFor(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`clients: no ${type} after ${timeoutMs} ms`)), timeoutMs);
    const on = (m) => {
      if (m.type !== type) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
}

async function runOne({ startWsServer }, { conns, rate, seconds }) {
  const server = await startWsServer({ flushInterval: 25, maxConnections: 20_000, history: { trades: 10 }, heartbeatInterval: 60_000 });
  let flushes = 0;
  let flushMsTotal = 0;
  server.on('flush', (f) => {
    flushes++;
    flushMsTotal += f.durationMs;
  });
  const child = fork(fileURLToPath(new URL('./clients.mjs', import.meta.url)), [server.url, String(conns), String(SYMBOLS), String(PER_CONN)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await waitFor(child, 'ready', 120_000);
    // Offered load: `rate` trades/s over SYMBOLS symbols, in 5 ms ticks, catching up on drift.
    let sent = 0;
    let seq = 0;
    const t0 = now();
    const publish = () => {
      const due = Math.floor(((now() - t0) / 1000) * rate);
      const batch = [];
      for (; sent < due; sent++) {
        const s = seq++ % SYMBOLS;
        batch.push({ symbol: `S${s}`, ts: now(), price: 100 + (seq % 50) / 100, size: 1 });
      }
      if (batch.length > 0) server.publish('trades', batch);
    };
    const timer = setInterval(publish, 5);
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const before = server.stats();
    flushes = 0;
    flushMsTotal = 0;
    const sentBefore = sent;
    child.send({ type: 'start' });
    const start = now();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const sentDuring = sent - sentBefore;
    const elapsed = (now() - start) / 1000;
    child.send({ type: 'stop' });
    const report = await waitFor(child, 'report', 30_000);
    clearInterval(timer);
    const after = server.stats();
    const expected = (sentDuring * conns * PER_CONN) / SYMBOLS;
    return {
      conns,
      channelsPerConn: PER_CONN,
      offeredTradesPerSecond: sentDuring / elapsed,
      deliveredUpdatesPerSecond: report.received / report.seconds,
      expectedUpdatesPerSecond: expected / elapsed,
      p50LatencyMs: report.p50,
      p99LatencyMs: report.p99,
      maxLatencyMs: report.max,
      framesOutPerSecond: (after.framesOut - before.framesOut) / elapsed,
      bytesOutPerSecond: (after.bytesOut - before.bytesOut) / elapsed,
      avgFlushMs: flushes > 0 ? flushMsTotal / flushes : 0,
      maxFlushMs: after.maxFlushMs,
      conflations: after.conflations - before.conflations,
      slowConsumerCloses: after.slowConsumerCloses,
      serverRssMb: process.memoryUsage().rss / 1e6,
      clientCloses: report.closes,
    };
  } finally {
    child.send({ type: 'exit' });
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    await server.close({ timeout: 2_000 });
  }
}

export async function main(args) {
  const { values } = parseArgs({ args, options: { conns: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, quick: { type: 'boolean' } } });
  let ws;
  try {
    ws = await import('@tickflow/ws-server');
  } catch (e) {
    console.error(`fanout: @tickflow/ws-server is not built (npx turbo run build --filter=@tickflow/ws-server): ${e.message}`);
    return 1;
  }
  const conns = (values.conns ?? (values.quick ? '100,1000' : '100,1000,5000')).split(',').map(Number);
  const rate = Number(values.rate ?? 2_000);
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 5));
  console.log(`fanout: ${rate} trades/s over ${SYMBOLS} symbols, ${PER_CONN} channels per connection, flush 25 ms, ${seconds} s per run, ${cpus().length} cores, node ${process.version}`);
  const results = [];
  for (const n of conns) {
    const r = await runOne(ws, { conns: n, rate, seconds });
    results.push(r);
    console.log(
      `  N=${String(n).padStart(5)}  delivered ${fmt(r.deliveredUpdatesPerSecond).padStart(8)} updates/s (offered ${fmt(r.expectedUpdatesPerSecond)})  p50 ${r.p50LatencyMs.toFixed(1)} ms  p99 ${r.p99LatencyMs.toFixed(1)} ms  ` +
        `${fmt(r.framesOutPerSecond)} frames/s  ${(r.bytesOutPerSecond / 1e6).toFixed(1)} MB/s  flush avg ${r.avgFlushMs.toFixed(2)} ms max ${r.maxFlushMs.toFixed(1)} ms  conflations ${r.conflations}`,
    );
  }
  const out = new URL('../results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('fanout.json', out), `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, cores: cpus().length, rate, seconds, results }, null, 2)}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
