// `npm run bench -- fanout [--conns 100,1000,5000] [--rate 2000] [--seconds 5] [--deflate off|on|both] [--concurrency 200] [--impl path/to/index.js] [--quick]`:
// WebSocket fan-out of @tickflow/ws-server (built package). The server runs in
// this process, configured as the reference server starts it (JWT
// authentication, upgrade rate 20 + 10/s per client address), fed with trades
// over 100 symbols at a fixed offered rate from the start; the clients run in a
// separate process (clients.mjs): N connections, each its own user from its own
// address (X-Forwarded-For), opened `concurrency` at a time while the feed runs,
// each subscribed to 10 `trades:SYM` channels, so every trade reaches N/10
// connections. Reports the time to open all N and to get every snapshot,
// upgrade and snapshot latency, then updates/s delivered, p50/p99 latency
// (publish → decoded at the client), server and client CPU, frames and bytes
// out (payload and on the wire), flush time, conflations; with
// `--deflate on|both` the same with permessage-deflate negotiated.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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

const SECRET = 'fanout-benchmark-secret-0123456789';

// A full GC before reading the heap, so heap growth over a run means retained state, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const heapAfterGcMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};

async function runOne({ startWsServer, jwtAuth }, { conns, rate, seconds, deflate, concurrency }) {
  // As the reference server (examples/dashboard/src/server/referenceServer.ts) starts it: JWT authentication, an
  // upgrade rate per client address (the address from X-Forwarded-For, as behind a trusted ingress).
  const server = await startWsServer({
    flushInterval: 25,
    maxConnections: 20_000,
    history: { trades: 10 },
    heartbeatInterval: 60_000,
    authenticate: jwtAuth({ secret: SECRET }),
    upgradeRate: { capacity: 20, refillPerSecond: 10 },
    clientAddress: (req) => String(req.headers['x-forwarded-for'] ?? req.socket.remoteAddress).split(',')[0].trim(),
    perMessageDeflate: deflate,
  });
  let flushes = 0;
  let flushMsTotal = 0;
  server.on('flush', (f) => {
    flushes++;
    flushMsTotal += f.durationMs;
  });
  // Offered load from the start, so the connections open while the server is busy: `rate` trades/s over SYMBOLS symbols, in 5 ms ticks, catching up on drift.
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
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const env = { ...process.env, FANOUT_CLIENTS: JSON.stringify({ url: server.url, conns, symbols: SYMBOLS, perConn: PER_CONN, secret: SECRET, deflate, concurrency }) };
  const openCpu = process.cpuUsage();
  const child = fork(fileURLToPath(new URL('./clients.mjs', import.meta.url)), [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await waitFor(child, 'ready', 300_000);
    const openLoopP99 = loop.percentile(99) / 1e6;
    const openCpuUsed = process.cpuUsage(openCpu);
    const openCpuCores = (openCpuUsed.user + openCpuUsed.system) / 1e3 / ready.readyMs;
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const heapBefore = heapAfterGcMb();
    const before = server.stats();
    flushes = 0;
    flushMsTotal = 0;
    loop.reset();
    const sentBefore = sent;
    const cpuBefore = process.cpuUsage();
    child.send({ type: 'start' });
    const start = now();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const sentDuring = sent - sentBefore;
    const elapsed = (now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    child.send({ type: 'stop' });
    const report = await waitFor(child, 'report', 30_000);
    clearInterval(timer);
    const after = server.stats();
    const heapAfter = heapAfterGcMb();
    // Flush cost, robust to a busy machine: the same work every time (50 trades on 50 channels, so every
    // connection gets one frame of ~5 deltas), the server's CPU time inside flush() alone, the clients draining in between.
    let flushCpuUs = 0;
    let flushFrames = 0;
    for (let k = 0; k < 40; k++) {
      const batch = [];
      for (let j = 0; j < 50; j++) batch.push({ symbol: `S${(k * 50 + j) % SYMBOLS}`, ts: now(), price: 100 + j / 100, size: 1 });
      server.publish('trades', batch);
      const frames0 = server.stats().framesOut;
      const cpu0 = process.cpuUsage();
      server.flush();
      const c = process.cpuUsage(cpu0);
      flushCpuUs += c.user + c.system;
      flushFrames += server.stats().framesOut - frames0;
      await new Promise((r) => setTimeout(r, 50));
    }
    const expected = (sentDuring * conns * PER_CONN) / SYMBOLS;
    return {
      conns,
      channelsPerConn: PER_CONN,
      deflate,
      negotiatedDeflate: ready.negotiatedDeflate,
      openSeconds: ready.openedMs / 1000,
      readySeconds: ready.readyMs / 1000,
      upgradeP50Ms: ready.upgradeP50,
      upgradeP99Ms: ready.upgradeP99,
      snapshotP50Ms: ready.snapshotP50,
      snapshotP99Ms: ready.snapshotP99,
      upgradesRejected: ready.rejected,
      serverLoopDelayP99WhileOpeningMs: openLoopP99,
      serverCpuCoresWhileOpening: openCpuCores,
      offeredTradesPerSecond: sentDuring / elapsed,
      deliveredUpdatesPerSecond: report.received / report.seconds,
      expectedUpdatesPerSecond: expected / elapsed,
      p50LatencyMs: report.p50,
      p99LatencyMs: report.p99,
      maxLatencyMs: report.max,
      serverCpuCores: (cpu.user + cpu.system) / 1e6 / elapsed,
      clientCpuCores: report.cpuCores,
      serverLoopDelayP99Ms: loop.percentile(99) / 1e6,
      framesOutPerSecond: (after.framesOut - before.framesOut) / elapsed,
      bytesOutPerSecond: (after.bytesOut - before.bytesOut) / elapsed,
      wireBytesPerSecond: report.wireBytes / report.seconds,
      avgFlushMs: flushes > 0 ? flushMsTotal / flushes : 0,
      maxFlushMs: after.maxFlushMs,
      conflations: after.conflations - before.conflations,
      slowConsumerCloses: after.slowConsumerCloses,
      serverRssMb: process.memoryUsage().rss / 1e6,
      serverHeapAfterGcMb: { start: heapBefore, end: heapAfter },
      flushCpuMs: flushCpuUs / 1000 / 40,
      flushCpuUsPerFrame: flushFrames > 0 ? flushCpuUs / flushFrames : NaN,
      clientCloses: report.closes,
    };
  } finally {
    clearInterval(timer);
    loop.disable();
    child.send({ type: 'exit' });
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    await server.close({ timeout: 2_000 });
  }
}

/**
 * Server CPU per published trade with nobody subscribed (trades channel + ticker bookkeeping + the flush taking the
 * deltas): 1 M trades over 100 symbols in batches of 1 000, a flush every 25 batches; the best of three passes.
 */
async function ingestCost({ startWsServer }) {
  const server = await startWsServer({ flushInterval: 1_000_000, history: { trades: 50 } });
  const N = 1_000_000;
  const B = 1_000;
  const batches = [];
  for (let b = 0; b < N / B; b++) {
    const batch = [];
    for (let j = 0; j < B; j++) {
      const i = b * B + j;
      batch.push({ symbol: `S${i % SYMBOLS}`, ts: 1_700_000_000_000 + i, price: 100 + (i % 50) / 100, size: 1 });
    }
    batches.push(batch);
  }
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const c0 = process.cpuUsage();
    for (let b = 0; b < batches.length; b++) {
      server.publish('trades', batches[b]);
      if (b % 25 === 24) server.flush();
    }
    const c = process.cpuUsage(c0);
    best = Math.min(best, ((c.user + c.system) * 1000) / N);
  }
  await server.close();
  return best;
}

export async function main(args) {
  const { values } = parseArgs({
    args,
    options: { conns: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, deflate: { type: 'string' }, concurrency: { type: 'string' }, impl: { type: 'string' }, quick: { type: 'boolean' } },
  });
  let ws;
  try {
    // --impl: another build of the server (e.g. of an earlier commit, for a before/after run on the same machine state).
    ws = await import(values.impl === undefined ? '@tickflow/ws-server' : pathToFileURL(resolve(values.impl)).href);
  } catch (e) {
    console.error(`fanout: @tickflow/ws-server is not built (npx turbo run build --filter=@tickflow/ws-server): ${e.message}`);
    return 1;
  }
  const conns = (values.conns ?? (values.quick ? '100,1000' : '100,1000,5000')).split(',').map(Number);
  const rate = Number(values.rate ?? 2_000);
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 5));
  const concurrency = Number(values.concurrency ?? 200);
  const deflateModes = { off: [false], on: [true], both: [false, true] }[values.deflate ?? 'off'];
  if (deflateModes === undefined) {
    console.error(`fanout: --deflate must be off, on or both, not ${values.deflate}`);
    return 2;
  }
  console.log(
    `fanout: ${rate} trades/s over ${SYMBOLS} symbols, ${PER_CONN} channels per connection, flush 25 ms, ${seconds} s per run, ${concurrency} upgrades in flight, ${cpus().length} cores, node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const ingestNsPerTrade = await ingestCost(ws);
  console.log(`  publish: ${ingestNsPerTrade.toFixed(0)} ns of server CPU per trade (trades channel + ticker, nobody subscribed)`);
  const results = [];
  for (const n of conns) {
    for (const deflate of deflateModes) {
      const r = await runOne(ws, { conns: n, rate, seconds, deflate, concurrency });
      results.push(r);
      console.log(
        `  N=${String(n).padStart(5)}${deflate ? ' deflate' : ''}  open ${r.openSeconds.toFixed(1)} s, snapshots ${r.readySeconds.toFixed(1)} s (upgrade p99 ${r.upgradeP99Ms.toFixed(0)} ms, snapshot p99 ${r.snapshotP99Ms.toFixed(0)} ms, loop p99 ${r.serverLoopDelayP99WhileOpeningMs.toFixed(0)} ms, server ${r.serverCpuCoresWhileOpening.toFixed(2)} cores, refused ${JSON.stringify(r.upgradesRejected)})\n` +
          `          delivered ${fmt(r.deliveredUpdatesPerSecond).padStart(8)} updates/s (offered ${fmt(r.expectedUpdatesPerSecond)})  p50 ${r.p50LatencyMs.toFixed(1)} ms  p99 ${r.p99LatencyMs.toFixed(1)} ms  ` +
          `flush CPU ${r.flushCpuMs.toFixed(1)} ms (${r.flushCpuUsPerFrame.toFixed(1)} µs/frame)  server ${r.serverCpuCores.toFixed(2)} cores, clients ${r.clientCpuCores.toFixed(2)}  ${fmt(r.framesOutPerSecond)} frames/s  ${(r.bytesOutPerSecond / 1e6).toFixed(1)} MB/s (wire ${(r.wireBytesPerSecond / 1e6).toFixed(1)})  flush avg ${r.avgFlushMs.toFixed(2)} ms max ${r.maxFlushMs.toFixed(1)} ms  conflations ${r.conflations}  RSS ${r.serverRssMb.toFixed(0)} MB, heap after GC ${r.serverHeapAfterGcMb.start.toFixed(0)} → ${r.serverHeapAfterGcMb.end.toFixed(0)} MB`,
      );
    }
  }
  const out = new URL('../results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  if (values.impl === undefined) writeFileSync(new URL('fanout.json', out), `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, cores: cpus().length, loadavg: loadavg(), rate, seconds, concurrency, ingestNsPerTrade, results }, null, 2)}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
