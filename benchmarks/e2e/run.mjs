// `npm run bench -- e2e [options]`: the whole reference server (`tickflow
// serve`, built) under load, end to end.
//
// Per scenario: spawns `node examples/dashboard/dist/cli.js serve` on a free
// port (embedded: the synthetic feed at --rate, in-process store; full: the
// same with ClickHouse, PostgreSQL and Redis from @tickflow/test-services;
// kafka-memory: ingest from librdkafka's mock broker (a fresh one per
// scenario), fed by a kafkajs producer process (producer.mjs) at the rate;
// kafka: the same with the three stores), signs in as viewer, forks the WebSocket
// clients (clients.mjs, K connections over --client-procs processes), warms
// up, then measures phases:
//   ws            only ingest + fan-out
//   rest-cached   + autocannon on GET /api/aggregates/SYM/1m?from=0&to=T with T
//                 a settled minute (x-cache: hit), 10 symbols
//   rest-uncached + autocannon on GET /api/aggregates/SYM/1m (open range:
//                 x-cache: bypass; full mode reads ClickHouse)
// For each phase: trades ingested/s (server /metrics
// tickflow_trades_ingested_total), trade latency at the clients (p50/p99/max
// of receipt Date.now() − trade.ts), CPU in cores of the server, clients,
// the rest of the benchmark and the rest of the machine (/proc), server RSS.
// Options: --rates 10000,50000,100000 --clients 1000 --symbols 100
//   --seconds 20 --warmup 5 --rest-seconds 10 --rest-connections 10
//   --client-procs 2 --ticker-every 10 --modes embedded,full,kafka-memory,kafka
//   --full-rate 20000 --kafka-rate 10000 --rest-at all|max --profile embedded|full|none --quick
import { fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt } from '../format.mjs';
import { mergeClientReports, phaseFigures } from './clientReport.mjs';
import { cpuBetween, cpuSample, procMemory } from './procStats.mjs';
import { symbolNames } from './tradeWalk.mjs';

const CLI = fileURLToPath(new URL('../../examples/dashboard/dist/cli.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const JWT_SECRET = 'e2e-benchmark-secret-0123456789abcdef';
const REST_SYMBOLS = 10;
/** embedded: synthetic feed, in-process store; full: + ClickHouse, PostgreSQL, Redis; kafka-memory: Kafka ingest, in-process store; kafka: Kafka ingest + the three stores. */
const MODES = ['embedded', 'full', 'kafka-memory', 'kafka'];
const TARGETS = { tradesPerSecond: 100_000, clients: 1_000, e2eP99Ms: 50, restCachedP99Ms: 20 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Symbol names of the synthetic feed (SYM0001…), also used by the Kafka producer. */

/** Sums every series of each metric in a Prometheus text exposition. */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out[m[1]] = (out[m[1]] ?? 0) + v;
  }
  return out;
}

function waitMessage(child, type, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => done(new Error(`${what}: no ${type} after ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m) => {
      if (m.type === type) done(undefined, m);
      else if (m.type === 'failed') done(new Error(`${what}: ${m.message}`));
    };
    const onExit = (code) => done(new Error(`${what} exited with ${code}`));
    function done(err, m) {
      clearTimeout(t);
      child.off('message', onMsg);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

async function waitUntil(what, check, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what} within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`);
}

async function freePort() {
  const { freePort: free } = await import('@tickflow/test-services');
  return free();
}

/** Starts `tickflow serve`; resolves once /readyz answers 200. */
async function startServer({ rate, symbols, services, kafkaBrokers, profileDir }) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tickflow-e2e-'));
  const flags = ['serve', '--port', String(port), '--host', '127.0.0.1', '--rate', String(rate), '--symbols', String(symbols), '--log-level', 'warn', '--rate-limit', '1000000', '--data-dir', dataDir];
  if (services !== undefined) flags.push('--clickhouse-url', services.clickhouse, '--database-url', services.postgres, '--redis-url', services.redis);
  if (kafkaBrokers !== undefined) flags.push('--kafka-brokers', kafkaBrokers.join(','));
  // The clients sign in as one viewer: lift the per-user cap (each client has its own address, see clients.mjs).
  const env = { ...process.env, JWT_SECRET, TICKFLOW_GUEST_ACCESS: 'true', TICKFLOW_WS_MAX_PER_USER: '100000' };
  // Only the flags choose the mode: a store URL in the benchmark's environment must not switch it.
  for (const k of ['CLICKHOUSE_URL', 'DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'PORT', 'HOST', 'LOG_LEVEL', 'RATE_LIMIT']) delete env[k];
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...flags], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = { lines: 0, tail: [] };
  let partial = '';
  child.stderr.on('data', (d) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop();
    for (const l of parts) {
      stderr.lines++;
      stderr.tail.push(l.length > 300 ? `${l.slice(0, 300)}…` : l);
      if (stderr.tail.length > 8) stderr.tail.shift();
    }
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  void exited.then(() => (dead = true));
  try {
    await waitUntil('the server did not answer /readyz', async () => {
      if (dead) throw new Error(`server exited: ${stderr.tail.join(' | ')}`);
      return (await fetch(`${base}/readyz`)).status === 200;
    }, 120_000, 200);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    base,
    pid: child.pid,
    stderr,
    async metrics() {
      return parseMetrics(await (await fetch(`${base}/metrics`)).text());
    },
    async stop() {
      if (!dead) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const r = await exited;
      clearTimeout(t);
      rmSync(dataDir, { recursive: true, force: true });
      return r;
    },
  };
}

async function login(base) {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).accessToken;
}

/** Forks the client processes (K connections split evenly) and waits until every subscription has its snapshot. */
async function startClients({ base, token, clients, procs, symbols, tickerEvery }) {
  const script = fileURLToPath(new URL('./clients.mjs', import.meta.url));
  const names = symbolNames(symbols);
  const children = [];
  let first = 0;
  for (let p = 0; p < procs; p++) {
    const count = Math.floor(clients / procs) + (p < clients % procs ? 1 : 0);
    const cfg = { url: `${base.replace('http', 'ws')}/ws`, token, first, count, symbols: names, tickerEvery };
    first += count;
    children.push(fork(script, [], { env: { ...process.env, E2E_CLIENTS: JSON.stringify(cfg) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }
  try {
    const ready = await Promise.all(children.map((c, i) => waitMessage(c, 'ready', 180_000, `client process ${i}`)));
    const connections = ready.reduce((a, r) => a + r.connections, 0);
    const snapshots = ready.reduce((a, r) => a + r.snapshots, 0);
    const expected = ready.reduce((a, r) => a + r.expectedSnapshots, 0);
    const setupErrors = ready.flatMap((r) => r.setupErrors);
    if (connections !== clients || snapshots < expected) throw new Error(`clients: ${connections}/${clients} connected, ${snapshots}/${expected} snapshots${setupErrors.length ? `; ${setupErrors.join('; ')}` : ''}`);
    return {
      pids: children.map((c) => c.pid),
      subscriptions: expected,
      phase: (phase) => children.forEach((c) => c.send({ type: 'phase', phase })),
      async report() {
        const reports = await Promise.all(children.map((c, i) => (c.send({ type: 'report' }), waitMessage(c, 'report', 60_000, `client process ${i}`))));
        const byPhase = new Map();
        for (const r of reports) for (const ph of r.phases) byPhase.set(ph.phase, [...(byPhase.get(ph.phase) ?? []), ph]);
        return new Map([...byPhase].map(([k, v]) => [k, phaseFigures(mergeClientReports(v))]));
      },
      async stop() {
        await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : (c.send({ type: 'exit' }), new Promise((r) => c.once('exit', r))))));
      },
    };
  } catch (e) {
    for (const c of children) c.kill('SIGKILL');
    throw e;
  }
}

async function startProducer({ brokers, rate, symbols }) {
  const script = fileURLToPath(new URL('./producer.mjs', import.meta.url));
  const child = fork(script, [], { env: { ...process.env, E2E_PRODUCER: JSON.stringify({ brokers, topic: 'trades', rate, symbols: symbolNames(symbols) }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await waitMessage(child, 'ready', 60_000, 'kafka producer');
  return {
    pid: child.pid,
    async stop() {
      child.send({ type: 'stop' });
      return waitMessage(child, 'stopped', 60_000, 'kafka producer');
    },
  };
}

/** Waits until the 1m aggregates of `symbol` up to a settled minute are cacheable; returns that `to`. */
async function settledRange(base, token, symbol) {
  let to;
  await waitUntil('no settled 1m candle (the cache needs a final bar that ended ≥ 10 s ago)', async () => {
    const t = Math.floor((Date.now() - 10_000) / 60_000) * 60_000;
    const res = await fetch(`${base}/api/aggregates/${symbol}/1m?from=0&to=${t}`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (['miss', 'hit', 'hit-redis'].includes(res.headers.get('x-cache'))) to = t;
    return to !== undefined;
  }, 150_000, 1_000);
  return to;
}

async function autocannonRun({ base, token, paths, seconds, connections }) {
  const { default: autocannon } = await import('autocannon');
  const xcache = {};
  const sources = {};
  const onResponse = (_status, _body, _ctx, headers) => {
    let c = 'none';
    let s;
    for (const [k, v] of Object.entries(headers)) {
      const key = k.toLowerCase();
      if (key === 'x-cache') c = String(v);
      else if (key === 'x-data-source') s = String(v);
    }
    xcache[c] = (xcache[c] ?? 0) + 1;
    if (s !== undefined) sources[s] = (sources[s] ?? 0) + 1;
  };
  const r = await autocannon({
    url: base,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: paths.map((path) => ({ method: 'GET', path, onResponse })),
  });
  return {
    requestsPerSecond: r.requests.average,
    requests: r.requests.total,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    meanMs: r.latency.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    xCache: xcache,
    dataSource: sources,
    connections,
  };
}

/** Runs one scenario; a failure (e.g. clients cannot connect to a saturated server) is recorded, not thrown. */
async function runScenario(o) {
  try {
    return await runScenarioOrThrow(o);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.log(`  FAILED: ${message}`);
    return { mode: o.mode, rate: o.rate, clients: o.clients, symbols: o.symbols, failed: message, phases: [] };
  }
}

/** Runs one scenario (one server) and returns its phases. */
async function runScenarioOrThrow(o) {
  const label = `${o.mode} R=${fmt(o.rate)}/s K=${o.clients}`;
  console.log(`\n${label}: starting the server${o.profileDir ? ' under --cpu-prof' : ''}`);
  const server = await startServer({ rate: o.rate, symbols: o.symbols, services: o.services, kafkaBrokers: o.kafkaBrokers, profileDir: o.profileDir });
  const serverStartedAt = Date.now();
  let clients;
  let producer;
  const result = { mode: o.mode, rate: o.rate, clients: o.clients, symbols: o.symbols, tickerEvery: o.tickerEvery, clientProcs: o.clientProcs, profiled: o.profileDir !== undefined, phases: [] };
  try {
    const token = await login(server.base);
    if (o.kafkaBrokers !== undefined) {
      producer = await startProducer({ brokers: o.kafkaBrokers, rate: o.rate, symbols: o.symbols });
      // The consumer group joins (the mock's initial rebalance delay) before anything is ingested.
      await waitUntil('kafka ingest did not start', async () => ((await server.metrics()).tickflow_trades_ingested_total ?? 0) > 0, 120_000, 250);
      result.kafkaJoinSeconds = (Date.now() - serverStartedAt) / 1000;
    }
    const t0 = Date.now();
    clients = await startClients({ base: server.base, token, clients: o.clients, procs: o.clientProcs, symbols: o.symbols, tickerEvery: o.tickerEvery });
    result.subscriptions = clients.subscriptions;
    result.connectSeconds = (Date.now() - t0) / 1000;
    console.log(`  ${o.clients} connections (${clients.subscriptions} subscriptions) in ${result.connectSeconds.toFixed(1)} s; warm-up ${o.warmup} s`);
    await sleep(o.warmup * 1000);

    const named = { server: server.pid, clients: clients.pids, ...(producer ? { producer: producer.pid } : {}) };
    const measure = async (phase, body) => {
      const m0 = await server.metrics();
      const c0 = cpuSample();
      clients.phase(phase);
      const extra = await body();
      clients.phase(`${phase}:after`);
      const c1 = cpuSample();
      const m1 = await server.metrics();
      const seconds = (c1.at - c0.at) / 1000;
      const d = (k) => (m1[k] ?? 0) - (m0[k] ?? 0);
      const p = {
        phase,
        seconds,
        ingestedPerSecond: d('tickflow_trades_ingested_total') / seconds,
        server: {
          wsFramesPerSecond: d('tickflow_ws_frames_sent_total') / seconds,
          wsMBPerSecond: d('tickflow_ws_bytes_sent_total') / seconds / 1e6,
          wsSlowConsumerCloses: d('tickflow_ws_slow_consumer_closes_total'),
          wsConflatedRowsAtEnd: m1.tickflow_ws_conflated_rows ?? 0,
          wsMaxFlushMsSoFar: (m1.tickflow_ws_max_flush_seconds ?? 0) * 1000,
          wsConnections: m1.tickflow_ws_connections ?? 0,
          ingestLagSecondsAtEnd: m1.tickflow_ingest_lag_seconds ?? null,
          late: d('tickflow_late_events_total'),
          deadLetters: d('tickflow_dead_letters_total'),
          sinkRowsWrittenPerSecond: d('tickflow_sink_rows_written_total') / seconds,
          sinkRowsDropped: d('tickflow_sink_dropped_rows_total'),
          sinkRowsBufferedAtEnd: m1.tickflow_sink_buffered_rows ?? null,
          eventLoopLagP99Ms: (m1.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000,
          kafkaLagAtEnd: m1.tickflow_kafka_consumer_lag_messages ?? null,
          ...procMemory(server.pid),
        },
        cpu: cpuBetween(c0, c1, named),
        ...extra,
      };
      result.phases.push(p);
      return p;
    };

    await measure('ws', async () => (await sleep(o.seconds * 1000), {}));
    if (o.rest) {
      const sym = symbolNames(o.symbols).slice(0, REST_SYMBOLS);
      const to = await settledRange(server.base, token, sym[0]);
      result.restWaitSeconds = (Date.now() - serverStartedAt) / 1000;
      // Prime the cache of every symbol's settled range, then measure hits.
      const cached = sym.map((s) => `/api/aggregates/${s}/1m?from=0&to=${to}`);
      for (const path of cached) await (await fetch(`${server.base}${path}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
      await measure('rest-cached', async () => ({ rest: await autocannonRun({ base: server.base, token, paths: cached, seconds: o.restSeconds, connections: o.restConnections }) }));
      const open = sym.map((s) => `/api/aggregates/${s}/1m`);
      await measure('rest-uncached', async () => ({ rest: await autocannonRun({ base: server.base, token, paths: open, seconds: o.restSeconds, connections: o.restConnections }) }));
    }
    const reports = await clients.report();
    for (const p of result.phases) p.clients = reports.get(p.phase);
    if (producer !== undefined) {
      result.producer = await producer.stop();
      producer = undefined;
    }
    result.healthz = await (await fetch(`${server.base}/healthz`)).json();
    result.serverPeakRssMb = procMemory(server.pid)?.peakRssMb;
  } catch (e) {
    // What the server managed while the scenario failed: trades ingested since it started.
    const m = await server.metrics().catch(() => ({}));
    const up = (Date.now() - serverStartedAt) / 1000;
    if (e instanceof Error) e.message += ` (server: ${fmt((m.tickflow_trades_ingested_total ?? 0) / up)} trades/s ingested on average over ${up.toFixed(0)} s, ${m.tickflow_ws_connections ?? '?'} WebSocket connections, ingest lag ${m.tickflow_ingest_lag_seconds ?? '?'} s, event-loop p99 ${((m.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000).toFixed(0)} ms, sink rows dropped ${m.tickflow_sink_dropped_rows_total ?? 0})`;
    throw e;
  } finally {
    await clients?.stop();
    await producer?.stop().catch(() => undefined);
    const exit = await server.stop();
    result.serverExit = exit;
    result.serverStderrLines = server.stderr.lines;
    result.serverStderrTail = server.stderr.tail;
  }
  for (const p of result.phases) printPhase(p);
  if (result.serverStderrLines > 0) console.log(`  server stderr: ${result.serverStderrLines} lines, last: ${result.serverStderrTail.slice(-2).join(' | ')}`);
  return result;
}

function printPhase(p) {
  const l = p.clients?.latency;
  const ms = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)}`);
  const cpu = p.cpu;
  console.log(
    `  ${p.phase.padEnd(13)} ingested ${fmt(p.ingestedPerSecond).padStart(7)}/s  trade latency p50 ${ms(l?.p50Ms)} p99 ${ms(l?.p99Ms)} max ${ms(l?.maxMs)} ms (${fmt(p.clients?.tradeRowsPerSecond ?? 0)} rows/s to clients, gaps ${p.clients?.gaps ?? '–'})  ` +
      `CPU server ${cpu.server.toFixed(2)} clients ${cpu.clients.toFixed(2)}${cpu.producer !== undefined ? ` producer ${cpu.producer.toFixed(2)}` : ''} bench ${cpu.benchmark.toFixed(2)} services ${cpu.services.toFixed(2)} elsewhere ${cpu.elsewhere.toFixed(2)} of ${cpu.cores} cores  RSS ${Math.round(p.server.rssMb)} MB  server loop delay p99 ${Math.round(p.server.eventLoopLagP99Ms)} ms`,
  );
  if (p.rest) {
    const r = p.rest;
    console.log(`  ${''.padEnd(13)} REST ${fmt(r.requestsPerSecond)} req/s p50 ${r.p50Ms} p99 ${r.p99Ms} max ${r.maxMs} ms  x-cache ${JSON.stringify(r.xCache)}${Object.keys(r.dataSource).length ? ` source ${JSON.stringify(r.dataSource)}` : ''}  non-2xx ${r.non2xx} errors ${r.errors}`);
  }
}

/** Self time by area and function of the server's CPU profile (the kafka suite's summariser, paths shortened). */
async function profileSummary(dir) {
  const { summariseProfile } = await import('../kafka/run.mjs');
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return { error: 'no .cpuprofile written (the server did not exit cleanly)' };
  const s = summariseProfile(join(dir, file), 30);
  const short = (n) => n.replaceAll(REPO, '').replace(/examples\/dashboard\/dist\/[^:]*/, 'examples/dashboard (bundle)');
  return { ...s, functions: s.functions.map((f) => ({ ...f, name: short(f.name) })), areas: s.areas.map((a) => ({ ...a, name: a.name === 'other' ? 'examples/dashboard + ws, fastify… (bundled)' : a.name })) };
}

export async function main(args) {
  const { values } = parseArgs({
    args,
    options: {
      rates: { type: 'string' },
      clients: { type: 'string' },
      symbols: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      'rest-seconds': { type: 'string' },
      'rest-connections': { type: 'string' },
      'rest-at': { type: 'string' },
      'client-procs': { type: 'string' },
      'ticker-every': { type: 'string' },
      modes: { type: 'string' },
      'full-rate': { type: 'string' },
      'kafka-rate': { type: 'string' },
      profile: { type: 'string' },
      'no-profile': { type: 'boolean' },
      quick: { type: 'boolean' },
    },
  });
  const quick = Boolean(values.quick);
  const num = (v, d, name) => {
    const n = Number(v ?? d);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const rates = (values.rates ?? (quick ? '10000,100000' : '10000,50000,100000')).split(',').map((r) => num(r, 0, 'rates'));
  const o = {
    clients: num(values.clients, 1000, 'clients'),
    symbols: num(values.symbols, 100, 'symbols'),
    seconds: num(values.seconds, quick ? 8 : 20, 'seconds'),
    warmup: num(values.warmup, quick ? 3 : 5, 'warmup'),
    restSeconds: num(values['rest-seconds'], quick ? 5 : 10, 'rest-seconds'),
    restConnections: num(values['rest-connections'], 10, 'rest-connections'),
    clientProcs: num(values['client-procs'], 2, 'client-procs'),
    tickerEvery: num(values['ticker-every'], 10, 'ticker-every'),
  };
  const modes = (values.modes ?? (quick ? 'embedded' : MODES.join(','))).split(',');
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: unknown mode ${m} (${MODES.join(', ')})`);
  const restAt = values['rest-at'] ?? 'max';
  const headline = Math.max(...rates);
  const fullRate = num(values['full-rate'], 20_000, 'full-rate');
  const kafkaRate = num(values['kafka-rate'], 10_000, 'kafka-rate');
  const profile = values['no-profile'] ? 'none' : (values.profile ?? (quick ? 'none' : 'embedded'));
  if (!['none', 'embedded', 'full'].includes(profile)) throw new Error(`--profile must be embedded, full or none, got ${profile}`);
  console.log(
    `e2e: tickflow serve (built) with K=${o.clients} WebSocket clients in ${o.clientProcs} processes (trades:SYMx + candles:SYMx:1m each, ticker every ${o.tickerEvery}th), ${o.symbols} symbols; ` +
      `warm-up ${o.warmup} s, ${o.seconds} s per ws phase, REST ${o.restSeconds} s × ${o.restConnections} connections; ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}; everything shares this machine`,
  );
  const scenarios = [];
  const services = [];
  let urls;
  try {
    if (modes.includes('embedded')) for (const rate of rates) scenarios.push(await runScenario({ ...o, mode: 'embedded', rate, rest: restAt === 'all' || rate === headline }));
    const needStores = modes.includes('full') || modes.includes('kafka') || profile === 'full';
    if (needStores || modes.includes('kafka-memory')) {
      const ts = await import('@tickflow/test-services');
      if (needStores) {
        const started = await Promise.allSettled([ts.startClickHouse(), ts.startPostgres(), ts.startRedis()]);
        for (const r of started) if (r.status === 'fulfilled') services.push(r.value);
        const failed = started.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        const [ch, pg, redis] = started.map((r) => r.value);
        urls = { clickhouse: ch.url, postgres: pg.url, redis: redis.url };
      }
      if (modes.includes('full')) scenarios.push(await runScenario({ ...o, mode: 'full', rate: fullRate, services: urls, rest: true }));
      // A fresh mock broker per Kafka scenario: no earlier topic content or committed offsets.
      for (const mode of ['kafka-memory', 'kafka']) {
        if (!modes.includes(mode)) continue;
        const kafka = await ts.startKafka({ topics: ts.TICKFLOW_TOPICS });
        try {
          scenarios.push(await runScenario({ ...o, mode, rate: kafkaRate, services: mode === 'kafka' ? urls : undefined, kafkaBrokers: kafka.brokers, rest: true }));
        } finally {
          await kafka.stop();
        }
      }
    }
    let serverProfile;
    if (profile !== 'none') {
      const dir = mkdtempSync(join(tmpdir(), 'tickflow-e2e-prof-'));
      try {
        const r = await runScenario({ ...o, mode: profile, rate: profile === 'full' ? fullRate : headline, services: profile === 'full' ? urls : undefined, rest: false, seconds: Math.min(o.seconds, 15), profileDir: dir });
        serverProfile = { run: r, ...(await profileSummary(dir)) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if (serverProfile.areas) {
        console.log(`\nserver profile (${profile}, R=${fmt(profile === 'full' ? fullRate : headline)}/s, K=${o.clients}): ${serverProfile.busyMs} ms busy of ${serverProfile.totalMs} ms; self time by area:`);
        for (const a of serverProfile.areas.slice(0, 10)) console.log(`  ${String(a.pct).padStart(5)} %  ${a.name}`);
        console.log('top functions (% of busy):');
        for (const f of serverProfile.functions.slice(0, 15)) console.log(`  ${String(f.pct).padStart(5)} %  ${f.name}`);
      } else console.log(`server profile: ${serverProfile.error}`);
    }
    printTargets(scenarios, headline, o.clients);
    if (!quick) {
      const out = new URL('../results/', import.meta.url);
      mkdirSync(out, { recursive: true });
      writeFileSync(new URL('e2e.json', out), `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, cores: cpus().length, cpu: cpus()[0]?.model, options: { ...o, rates, modes, fullRate, kafkaRate, restAt }, targets: TARGETS, scenarios, serverProfile }, null, 2)}\n`);
    }
    return 0;
  } finally {
    await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  }
}

function printTargets(scenarios, headline, clients) {
  const head = scenarios.find((s) => s.mode === 'embedded' && s.rate === headline && !s.profiled);
  const ws = head?.phases.find((p) => p.phase === 'ws');
  const cached = head?.phases.find((p) => p.phase === 'rest-cached');
  if (ws === undefined) return;
  console.log(`\nagainst the targets (embedded, R=${fmt(headline)}/s offered, K=${clients}):`);
  console.log(`  ingest ≥ ${fmt(TARGETS.tradesPerSecond)} trades/s with ${TARGETS.clients} clients: ${fmt(ws.ingestedPerSecond)}/s → ${ws.ingestedPerSecond >= TARGETS.tradesPerSecond * 0.98 && clients >= TARGETS.clients ? 'met' : 'not met'}`);
  const p99 = ws.clients?.latency.p99Ms;
  console.log(`  end-to-end p99 ≤ ${TARGETS.e2eP99Ms} ms: ${p99} ms → ${p99 !== null && p99 <= TARGETS.e2eP99Ms ? 'met' : 'not met'}`);
  if (cached?.rest) console.log(`  REST cached aggregates p99 ≤ ${TARGETS.restCachedP99Ms} ms: ${cached.rest.p99Ms} ms → ${cached.rest.p99Ms <= TARGETS.restCachedP99Ms ? 'met' : 'not met'}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
