// Client side of the e2e benchmark, in its own process (forked by run.mjs):
// opens `count` WebSocket connections to the reference server's /ws (raw `ws`
// + msgpackr with the shared record structures, as the client SDK decodes;
// the SDK's channel stores and 100 ms batching are left out so the number is
// the wire, not the SDK's UI batching). Client i (global index) subscribes
// to `trades:SYMx` and `candles:SYMx:1m` for x = i mod symbols, and to
// `ticker` when i % tickerEvery === 0.
//
// Latency of every trade row in a `trades:` delta = Date.now() after the
// frame is decoded − trade.ts (the feed's wall-clock event time, or the Kafka
// producer's send time), whole ms on the same machine clock.
//
// IPC parent → child: {type:'phase', phase} closes the running phase (if any)
// and starts counting a new one; {type:'report'} closes the running phase and
// answers {type:'report', phases}; {type:'exit'}. Child → parent:
// {type:'ready', …} once every subscription has its snapshot.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket } from 'ws';
import { MSGPACK_SUBPROTOCOL, SHARED_STRUCTURES, sharedStructures } from '@tickflow/ws-server/protocol';
import { LatencyHistogram } from './latencyHistogram.mjs';
import { emptyPhase } from './clientReport.mjs';

const cfg = JSON.parse(process.env.E2E_CLIENTS);
const { url, token, first, count, symbols, tickerEvery } = cfg;

const packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
// One decoder per process: every message is self-contained (records are shared or defined inline).
const unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });

const hist = new LatencyHistogram();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let cur; // the running phase, or undefined between phases
let curStarted = 0;
let curCpu;
const done = [];
let snapshots = 0;
let expectedSnapshots = 0;
const setupErrors = [];

function closePhase() {
  if (cur === undefined) return;
  cur.seconds = (Date.now() - curStarted) / 1000;
  const cpu = process.cpuUsage(curCpu);
  cur.cpuCores = cur.seconds > 0 ? (cpu.user + cpu.system) / 1e6 / cur.seconds : 0;
  cur.loopDelayP99Ms = loop.percentile(99) / 1e6;
  cur.loopDelayMaxMs = loop.max / 1e6;
  cur.latency = hist.summary();
  done.push(cur);
  cur = undefined;
}

function startPhase(phase) {
  closePhase();
  hist.reset();
  loop.reset();
  cur = emptyPhase(phase);
  curStarted = Date.now();
  curCpu = process.cpuUsage();
}

/** Per connection: last applied seq per channel (gap detection). */
function onFrame(seqs, data) {
  const msgs = unpackr.unpackMultiple(data);
  const t = Date.now();
  const c = cur;
  if (c !== undefined) {
    c.frames++;
    c.bytes += data.length;
  }
  for (const m of msgs) {
    if (m.type === 'snapshot') {
      snapshots++;
      seqs.set(m.channel, m.seq);
      continue;
    }
    if (m.type === 'error') {
      if (c !== undefined) c.errors++;
      else setupErrors.push(`${m.code}: ${m.message}`);
      continue;
    }
    if (m.type !== 'delta') continue;
    const last = seqs.get(m.channel);
    if (last !== undefined && m.seq <= last) continue; // stale
    seqs.set(m.channel, m.seq);
    if (c === undefined) continue;
    if (last === undefined || m.prev !== last) c.gaps++;
    if (m.seq - m.prev > 1) c.conflated++;
    const rows = m.rows;
    const ch = m.channel;
    if (ch.startsWith('trades:')) {
      c.tradeRows += rows.length;
      for (let i = 0; i < rows.length; i++) hist.record(t - rows[i].ts);
    } else if (ch === 'ticker') c.tickerRows += rows.length;
    else c.candleRows += rows.length;
  }
}

const sockets = [];
// Each client comes from its own address (X-Forwarded-For; the server trusts loopback proxies by default), as
// real clients would: the per-address connection cap and upgrade rate apply per client, not to the benchmark as one.
// A 429 (upgrade rate) is retried after its Retry-After.
function open(i, attempt = 0) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, [MSGPACK_SUBPROTOCOL], { perMessageDeflate: false, headers: { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } });
    const seqs = new Map();
    let answered = false;
    ws.on('unexpected-response', (_req, res) => {
      answered = true;
      ws.terminate();
      if (res.statusCode === 429 && attempt < 20) {
        const wait = Number(res.headers['retry-after'] ?? 1) * 1000;
        setTimeout(() => open(i, attempt + 1).then(resolve, reject), wait);
      } else reject(new Error(`upgrade answered ${res.statusCode}`));
    });
    ws.on('open', () => {
      const sym = symbols[i % symbols.length];
      const channels = [`trades:${sym}`, `candles:${sym}:1m`];
      if (i % tickerEvery === 0) channels.push('ticker');
      expectedSnapshots += channels.length;
      ws.send(packr.pack({ type: 'subscribe', channels }));
      sockets.push(ws);
      resolve();
    });
    ws.on('message', (data) => onFrame(seqs, data));
    ws.on('error', (e) => {
      if (!answered) reject(e);
    });
    ws.on('close', (code) => {
      const target = cur ?? { closes: {} };
      if (!answered) target.closes[code] = (target.closes[code] ?? 0) + 1;
    });
  });
}

try {
  for (let i = first; i < first + count; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(first + count, i + 50); j++) batch.push(open(j));
    await Promise.all(batch);
  }
  const deadline = Date.now() + 60_000;
  while (snapshots < expectedSnapshots && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  process.send({ type: 'ready', connections: sockets.length, snapshots, expectedSnapshots, setupErrors: setupErrors.slice(0, 5) });
} catch (e) {
  process.send({ type: 'failed', message: `connection ${sockets.length} of ${count}: ${e instanceof Error ? e.message : String(e)}` });
}

process.on('message', (m) => {
  if (m.type === 'phase') startPhase(m.phase);
  else if (m.type === 'report') {
    closePhase();
    process.send({ type: 'report', phases: done.splice(0) });
  } else if (m.type === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
