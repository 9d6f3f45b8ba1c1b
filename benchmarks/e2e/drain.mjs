// `npm run bench -- e2e-drain [options]`: server CPU per Kafka trade and the
// rate at which one `tickflow serve` process drains a backlog.
//
// Fills the `trades` topic of a fresh mock broker (librdkafka's, from
// @tickflow/test-services, retention raised so nothing is dropped: checked
// after the run) with N MessagePack trades over S symbols, then starts the
// built server on it (kafka-memory: in-process store only; kafka: plus
// ClickHouse, PostgreSQL and Redis) and measures, from the first trade
// ingested to the last (`tickflow_trades_ingested_total` on /metrics): the
// drain rate and the server's CPU (utime+stime of the process, all its
// threads, from /proc) per trade. No WebSocket clients: this isolates the
// ingest path (decode, windows, store writes, commits).
//
// Options: --trades 1000000 --symbols 100 --partitions 6 --modes kafka-memory,kafka
//   --processes 1 (several: one consumer group, the partitions split) --stagger MS (start each next process MS later: joins mid-backlog)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pack } from 'msgpackr';
import { CLK_TCK, cpuBetween, cpuSample, procMemory, procStat } from './procStats.mjs';
import { parseMetrics, sleep } from './scenarioProcesses.mjs';
import { symbolNames, tradeWalk } from './tradeWalk.mjs';

const CLI = fileURLToPath(new URL('../../examples/dashboard/dist/cli.js', import.meta.url));

/** Produces `n` trades to `topic` with kafkajs, 10 000 messages per request, 4 requests in flight. */
async function fill(brokers, topic, n, symbols) {
  const { Kafka, Partitioners, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({ clientId: 'tickflow-bench-drain', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const next = tradeWalk(symbolNames(symbols));
  const t0 = Date.parse('2026-11-30T09:00:00Z');
  let made = 0;
  const batch = () => {
    const messages = [];
    for (let i = 0; i < 10_000 && made < n; i++, made++) {
      const t = next();
      // 1 000 trades per second of event time: N trades span N/1000 s (1 M: ~17 minutes, 17 one-minute bars).
      const trade = { symbol: t.symbol, ts: t0 + made, price: t.price, size: t.size, side: t.side, id: `d-${made}` };
      messages.push({ key: trade.symbol, value: pack(trade) });
    }
    return messages;
  };
  const inflight = new Set();
  while (made < n) {
    const p = producer.sendBatch({ topicMessages: [{ topic, messages: batch() }], acks: -1 }).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

async function startServer({ brokers, services, processes, group, stagger }) {
  const servers = [];
  for (let i = 0; i < processes; i++) {
    if (i > 0 && stagger > 0) await sleep(stagger);
    const { freePort } = await import('@tickflow/test-services');
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tickflow-drain-'));
    const flags = ['serve', '--port', String(port), '--host', '127.0.0.1', '--log-level', process.env.DRAIN_LOG ?? 'warn', '--rate-limit', '1000000', '--data-dir', dataDir, '--kafka-brokers', brokers.join(',')];
    if (services !== undefined) flags.push('--clickhouse-url', services.clickhouse, '--database-url', services.postgres, '--redis-url', services.redis);
    const env = { ...process.env, JWT_SECRET: 'drain-benchmark-secret-0123456789abcdef', KAFKA_GROUP: group };
    for (const k of ['CLICKHOUSE_URL', 'DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'PORT', 'HOST', 'LOG_LEVEL']) delete env[k];
    const child = spawn(process.execPath, [...(process.env.DRAIN_NODE_ARGS?.split(' ').filter(Boolean) ?? []), CLI, ...flags], { env, stdio: ['ignore', process.env.DRAIN_LOG !== undefined ? 'pipe' : 'ignore', 'pipe'] });
    const tail = [];
    const keep = (d) => {
      tail.push(d.toString());
      if (tail.length > 200) tail.shift();
    };
    child.stderr.on('data', keep);
    child.stdout?.on('data', keep);
    servers.push({ child, base: `http://127.0.0.1:${port}`, dataDir, tail });
  }
  return servers;
}

/** Cores used per command name (node, clickhouse, postgres, redis-server, kafka-mock, …) between two samples, the busiest first. */
function cpuByCommand(a, b, seconds) {
  const by = {};
  for (const [pid, s1] of b.procs) {
    const d = s1.ticks - (a.procs.get(pid)?.ticks ?? 0);
    if (d > 0) by[s1.comm] = (by[s1.comm] ?? 0) + d / CLK_TCK / seconds;
  }
  return Object.fromEntries(Object.entries(by).filter(([, v]) => v >= 0.01).sort((x, y) => y[1] - x[1]).slice(0, 8));
}

async function ingested(server) {
  try {
    const r = await fetch(`${server.base}/metrics`);
    return parseMetrics(await r.text()).tickflow_trades_ingested_total ?? 0;
  } catch {
    return -1;
  }
}

async function scenario(mode, o, ts) {
  const kafka = await ts.startKafka({ topics: [{ name: 'trades', partitions: o.partitions }, { name: 'quotes', partitions: o.partitions }, { name: 'trades-dead-letter', partitions: 1 }], ownServer: true });
  const services = [];
  let urls;
  try {
    if (mode === 'kafka') {
      const [ch, pg, redis] = await Promise.all([ts.startClickHouse(), ts.startPostgres(), ts.startRedis()]);
      services.push(ch, pg, redis);
      urls = { clickhouse: ch.url, postgres: pg.url, redis: redis.url };
    }
    const f0 = Date.now();
    await fill(kafka.brokers, 'trades', o.trades, o.symbols);
    console.log(`${mode}: produced ${o.trades} trades in ${((Date.now() - f0) / 1000).toFixed(1)} s`);
    const started = Date.now();
    const servers = await startServer({ brokers: kafka.brokers, services: urls, processes: o.processes, group: `drain-${mode}`, stagger: o.stagger });
    try {
      let first;
      let last;
      const deadline = Date.now() + 20 * 60_000;
      let peakRss = 0;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`${mode}: not drained within 20 minutes`);
        for (const s of servers) if (s.child.exitCode !== null) throw new Error(`server exited: ${s.tail.join('').slice(-1500)}`);
        const counts = await Promise.all(servers.map(ingested));
        const total = counts.reduce((a, b) => a + Math.max(0, b), 0);
        const now = Date.now();
        const ticks = servers.map((s) => procStat(s.child.pid)?.ticks ?? 0);
        for (const s of servers) peakRss = Math.max(peakRss, procMemory(s.child.pid)?.rssMb ?? 0);
        if (first === undefined && total > 0) first = { at: now, total, ticks, sample: cpuSample() };
        if (total >= o.trades) {
          last = { at: now, total, ticks, counts, sample: cpuSample() };
          break;
        }
        await sleep(200);
      }
      const seconds = (last.at - first.at) / 1000;
      const trades = last.total - first.total;
      const cpuSeconds = last.ticks.map((t, i) => (t - first.ticks[i]) / CLK_TCK);
      const cpuTotal = cpuSeconds.reduce((a, b) => a + b, 0);
      const parts = await Promise.all(servers.map(async (sv) => ((await (await fetch(`${sv.base}/healthz`)).json()).kafka?.partitions ?? []).join(',')));
      console.log(`  partitions at the end: ${parts.map((p, i) => `#${i + 1} [${p}]`).join(' ')}; first trade ${((first.at - started) / 1000).toFixed(1)} s after the start`);
      const cpu = cpuBetween(first.sample, last.sample, { server: servers.map((s) => s.child.pid) });
      const byProcess = cpuByCommand(first.sample, last.sample, seconds);
      const r = { mode, processes: o.processes, partitions: o.partitions, trades: o.trades, seconds, tradesPerSecond: trades / seconds, cpuSeconds, usPerTrade: (cpuTotal / trades) * 1e6, perProcess: last.counts, peakRssMb: Math.round(peakRss), cores: cpu, byProcess };
      console.log(`  CPU in cores over the drain: machine ${cpu.machine.toFixed(2)} of ${cpu.cores}, server ${cpu.server.toFixed(2)}; by process: ${Object.entries(byProcess).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
      console.log(`${mode} ×${o.processes}: drained ${trades} trades in ${seconds.toFixed(1)} s = ${Math.round(r.tradesPerSecond)} trades/s; server CPU ${cpuSeconds.map((c) => c.toFixed(1)).join('+')} s = ${r.usPerTrade.toFixed(1)} µs/trade; per process ${last.counts.join(', ')}; peak RSS ${r.peakRssMb} MB`);
      return r;
    } finally {
      if (process.env.DRAIN_LOG !== undefined) servers.forEach((s, i) => console.log(`--- server #${i + 1} log tail:\n${s.tail.join('').slice(-6000)}`));
      for (const s of servers) {
        s.child.kill('SIGTERM');
        await Promise.race([new Promise((res) => s.child.once('exit', res)), sleep(10_000)]);
        s.child.kill('SIGKILL');
        rmSync(s.dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    await kafka.stop().catch((e) => console.error(String(e)));
    await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
  }
}

export async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { trades: { type: 'string', default: '1000000' }, symbols: { type: 'string', default: '100' }, partitions: { type: 'string', default: '6' }, modes: { type: 'string', default: 'kafka-memory,kafka' }, processes: { type: 'string', default: '1' }, stagger: { type: 'string', default: '0' }, out: { type: 'string' } } });
  const o = { trades: Number(values.trades), symbols: Number(values.symbols), partitions: Number(values.partitions), processes: Number(values.processes), stagger: Number(values.stagger) };
  const ts = await import('@tickflow/test-services');
  const results = [];
  for (const mode of values.modes.split(',')) results.push(await scenario(mode, o, ts));
  const out = { suite: 'e2e-drain', at: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, options: o, results };
  if (values.out !== undefined) {
    mkdirSync(join(values.out, '..'), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
