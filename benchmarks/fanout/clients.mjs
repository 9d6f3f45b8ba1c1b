// Client side of the fan-out benchmark, in its own process: opens N WebSocket
// connections (ws + msgpackr, the same decoding as the client SDK), each
// subscribed to 10 channels, and measures how long the connections take to
// open and get their snapshots, then delivered updates and latency
// (receive time − the publish time carried in each trade's ts).
// Every connection signs in with its own HS256 token (subject user<i>) and
// comes "from" its own address through X-Forwarded-For, as 5 000 users behind
// an ingress would: the server's per-address upgrade rate and per-subject
// caps apply to each of them, not to 127.0.0.1 as a whole.
// Parent → child IPC: {start}, {stop}; child → parent: {ready}, {report}.
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket } from 'ws';
import { SHARED_STRUCTURES, sharedStructures, MSGPACK_SUBPROTOCOL } from '@tickflow/ws-server/protocol';

const cfg = JSON.parse(process.env.FANOUT_CLIENTS);
const { url, conns: N, symbols: SYMBOLS, perConn: PER_CONN, secret, deflate, concurrency } = cfg;
const now = () => performance.timeOrigin + performance.now();

/** A 0.05 ms-bucket latency histogram up to 5 s (bounded memory). */
class Histogram {
  static BUCKET = 0.05;
  counts = new Uint32Array(100_000);
  max = 0;
  n = 0;
  record(ms) {
    this.n++;
    if (ms > this.max) this.max = ms;
    this.counts[Math.min(this.counts.length - 1, Math.max(0, Math.floor(ms / Histogram.BUCKET)))]++;
  }
  percentile(p) {
    if (this.n === 0) return NaN;
    const target = this.n * p;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i];
      if (acc >= target) return (i + 1) * Histogram.BUCKET;
    }
    return NaN;
  }
}

const b64url = (s) => Buffer.from(s).toString('base64url');
function token(subject) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub: subject, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const latency = new Histogram();
const upgrade = new Histogram();
const snapshot = new Histogram();
let counting = false;
let received = 0;
let snapshots = 0;
let startedAt = 0;
let cpuAt;
let bytesAt = 0;
const closes = new Map();
const rejected = new Map();

const packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
// One decoder per process is enough: every message is self-contained.
const unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });

function onFrame(conn, data) {
  const msgs = unpackr.unpackMultiple(data);
  const t = now();
  for (const m of msgs) {
    if (m.type === 'snapshot') {
      snapshots++;
      snapshot.record(t - conn.subscribedAt);
      continue;
    }
    if (m.type !== 'delta' || !counting) continue;
    const rows = m.rows;
    for (let i = 0; i < rows.length; i++) {
      received++;
      latency.record(t - rows[i].ts);
    }
  }
}

const sockets = [];
/** Opens connection i; retries after the Retry-After of a 429 (the upgrade rate), as the SDK's reconnect does. */
function open(i) {
  return new Promise((resolve, reject) => {
    const conn = { subscribedAt: 0 };
    const t0 = now();
    const ws = new WebSocket(`${url}?token=${token(`user${i}`)}`, [MSGPACK_SUBPROTOCOL], {
      perMessageDeflate: deflate,
      headers: { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    });
    ws.on('unexpected-response', (_req, res) => {
      rejected.set(res.statusCode, (rejected.get(res.statusCode) ?? 0) + 1);
      const wait = Number(res.headers['retry-after'] ?? 1);
      res.resume();
      if (res.statusCode !== 429 && res.statusCode !== 503) return reject(new Error(`upgrade answered ${res.statusCode}`));
      setTimeout(() => open(i).then(resolve, reject), wait * 1000);
    });
    ws.on('open', () => {
      upgrade.record(now() - t0);
      const channels = [];
      for (let k = 0; k < PER_CONN; k++) channels.push(`trades:S${(i * PER_CONN + k) % SYMBOLS}`);
      conn.subscribedAt = now();
      ws.send(packr.pack({ type: 'subscribe', channels }));
      sockets.push(ws);
      resolve();
    });
    ws.on('message', (data) => onFrame(conn, data));
    ws.on('error', (e) => {
      if (ws.readyState !== WebSocket.OPEN) reject(e);
    });
    ws.on('close', (code) => closes.set(code, (closes.get(code) ?? 0) + 1));
  });
}

/** Wire bytes received so far over every connection (compressed when permessage-deflate was negotiated). */
const wireBytes = () => {
  let n = 0;
  for (const ws of sockets) n += ws._socket?.bytesRead ?? 0;
  return n;
};

const openStart = now();
let next = 0;
const worker = async () => {
  while (next < N) await open(next++);
};
await Promise.all(Array.from({ length: Math.min(concurrency, N) }, worker));
const openedMs = now() - openStart;
const deadline = Date.now() + 120_000;
while (snapshots < N * PER_CONN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const readyMs = now() - openStart;
const negotiated = sockets.filter((ws) => ws.extensions.includes('permessage-deflate')).length;
process.send({
  type: 'ready',
  openedMs,
  readyMs,
  snapshots,
  negotiatedDeflate: negotiated,
  upgradeP50: upgrade.percentile(0.5),
  upgradeP99: upgrade.percentile(0.99),
  snapshotP50: snapshot.percentile(0.5),
  snapshotP99: snapshot.percentile(0.99),
  rejected: Object.fromEntries(rejected),
});

process.on('message', (m) => {
  if (m.type === 'start') {
    counting = true;
    startedAt = now();
    cpuAt = process.cpuUsage();
    bytesAt = wireBytes();
  } else if (m.type === 'stop') {
    counting = false;
    const seconds = (now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuAt);
    process.send({
      type: 'report',
      received,
      seconds,
      wireBytes: wireBytes() - bytesAt,
      cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
      p50: latency.percentile(0.5),
      p99: latency.percentile(0.99),
      max: latency.max,
      closes: Object.fromEntries(closes),
    });
  } else if (m.type === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
