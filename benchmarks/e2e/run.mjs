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
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt } from '../format.mjs';
import { cpuBetween, cpuSample, procMemory } from './procStats.mjs';
import { autocannonRun, login, settledRange, sleep, startClients, startProducer, startServer, waitUntil } from './scenarioProcesses.mjs';
import { symbolNames } from './tradeWalk.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REST_SYMBOLS = 10;
/** embedded: synthetic feed, in-process store; full: + ClickHouse, PostgreSQL, Redis; kafka-memory: Kafka ingest, in-process store; kafka: Kafka ingest + the three stores. */
const MODES = ['embedded', 'full', 'kafka-memory', 'kafka'];
const TARGETS = { tradesPerSecond: 100_000, clients: 1_000, e2eP99Ms: 50, restCachedP99Ms: 20 };

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

/** Self time by area and function of the server's CPU profile (cpuProfile.mjs, paths shortened). */
async function profileSummary(dir) {
  const { summariseProfile } = await import('../cpuProfile.mjs');
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
