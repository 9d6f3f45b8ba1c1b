// Client side of the fan-out benchmark, in its own process: opens N WebSocket
// connections (ws + msgpackr, the same decoding as the client SDK), each
// subscribed to 10 channels, and measures delivered updates and latency
// (receive time − the publish time carried in each trade's ts).
// Parent → child IPC: {start}, {stop}; child → parent: {ready}, {report}.
import { performance } from 'node:perf_hooks';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket } from 'ws';
import { SHARED_STRUCTURES, sharedStructures, MSGPACK_SUBPROTOCOL } from '@tickflow/ws-server';

const [url, nArg, symbolsArg, perConnArg] = process.argv.slice(2);
const N = Number(nArg);
const SYMBOLS = Number(symbolsArg);
const PER_CONN = Number(perConnArg);
const now = () => performance.timeOrigin + performance.now();

// Latency histogram: 0.05 ms buckets up to 5 s (bounded memory).
const BUCKET = 0.05;
const hist = new Uint32Array(100_000);
let counting = false;
let received = 0;
let frames = 0;
let bytes = 0;
let snapshots = 0;
let maxLatency = 0;
let startedAt = 0;
let stoppedAt = 0;
const closes = new Map();

function onFrame(unpackr, data) {
  frames++;
  bytes += data.length;
  const msgs = unpackr.unpackMultiple(data);
  const t = now();
  for (const m of msgs) {
    if (m.type === 'snapshot') {
      snapshots++;
      continue;
    }
    if (m.type !== 'delta' || !counting) continue;
    const rows = m.rows;
    for (let i = 0; i < rows.length; i++) {
      const lat = t - rows[i].ts;
      received++;
      if (lat > maxLatency) maxLatency = lat;
      const b = Math.min(hist.length - 1, Math.max(0, Math.floor(lat / BUCKET)));
      hist[b]++;
    }
  }
}

function percentile(p) {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  if (total === 0) return NaN;
  const target = total * p;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc >= target) return (i + 1) * BUCKET;
  }
  return NaN;
}

const sockets = [];
function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [MSGPACK_SUBPROTOCOL], { perMessageDeflate: false });
    // One decoder per process is enough: every message is self-contained.
    ws.on('open', () => {
      const channels = [];
      for (let k = 0; k < PER_CONN; k++) channels.push(`trades:S${(i * PER_CONN + k) % SYMBOLS}`);
      ws.send(packr.pack({ type: 'subscribe', channels }));
      resolve();
    });
    ws.on('message', (data) => onFrame(unpackr, data));
    ws.on('error', reject);
    ws.on('close', (code) => closes.set(code, (closes.get(code) ?? 0) + 1));
    sockets.push(ws);
  });
}
const packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
const unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });

for (let i = 0; i < N; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 100); j++) batch.push(open(j));
  await Promise.all(batch);
}
const deadline = Date.now() + 60_000;
while (snapshots < N * PER_CONN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
process.send({ type: 'ready', snapshots });

process.on('message', (m) => {
  if (m.type === 'start') {
    counting = true;
    startedAt = now();
  } else if (m.type === 'stop') {
    counting = false;
    stoppedAt = now();
    process.send({
      type: 'report',
      received,
      seconds: (stoppedAt - startedAt) / 1000,
      frames,
      bytes,
      p50: percentile(0.5),
      p99: percentile(0.99),
      max: maxLatency,
      closes: Object.fromEntries(closes),
    });
  } else if (m.type === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
