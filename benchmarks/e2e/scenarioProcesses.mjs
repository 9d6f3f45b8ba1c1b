// The processes one e2e scenario starts and talks to (see run.mjs): the
// reference server (`tickflow serve`, built), the WebSocket client processes
// (clients.mjs), the Kafka producer process (producer.mjs) and autocannon for
// the REST phases; plus the small waits and the /metrics parser they share.

import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeClientReports, phaseFigures } from './clientReport.mjs';
import { symbolNames } from './tradeWalk.mjs';

const CLI = fileURLToPath(new URL('../../examples/dashboard/dist/cli.js', import.meta.url));
const JWT_SECRET = 'e2e-benchmark-secret-0123456789abcdef';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

export async function waitUntil(what, check, timeoutMs, intervalMs = 200) {
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
export async function startServer({ rate, symbols, services, kafkaBrokers, profileDir }) {
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

export async function login(base) {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).accessToken;
}

/** Forks the client processes (K connections split evenly) and waits until every subscription has its snapshot. */
export async function startClients({ base, token, clients, procs, symbols, tickerEvery }) {
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

export async function startProducer({ brokers, rate, symbols }) {
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
export async function settledRange(base, token, symbol) {
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

export async function autocannonRun({ base, token, paths, seconds, connections }) {
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
