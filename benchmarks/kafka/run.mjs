// `npm run bench -- kafka [--trades N] [--quick] [--no-postgres] [--no-profile]`:
// sustained trades/s from a Kafka broker through the operators into the
// sinks, end to end, in ONE process, plus consumer lag over time.
//
// 1. Starts librdkafka's mock broker (@tickflow/test-services startKafka: an
//    in-process C cluster on loopback, NOT a real Kafka), ClickHouse and
//    PostgreSQL (Debian's servers, or the ones KAFKA_BROKERS /
//    CLICKHOUSE_URL / DATABASE_URL point at).
// 2. Pre-produces N trades (default 1 M against a real broker, 360 k against
//    the mock, which keeps only ~5 MB per partition; --quick 200 k) over 100 symbols to a
//    6-partition topic, MessagePack values, key = symbol, kafkajs's murmur2
//    partitioner, sendBatch calls of 10 k messages, the next batch encoded
//    while the previous one is on the wire (production rate reported apart).
// 3. Runs kafkaConsumer(...).run({ jobs, durable, endWhenIdle }) (3 times, fresh
//    consumer group and databases each, median reported) with four
//    jobs: 1m+5m candles -> ClickHouse, 1m volume profile -> ClickHouse,
//    1m tick count -> ClickHouse, 1m+5m candles -> PostgreSQL. Wall time runs
//    from run() to its resolve (every message consumed, every window fired,
//    every sink flushed, offsets committed), minus the endWhenIdle wait.
//    Every 500 ms it samples lag: high watermarks minus committed offsets
//    (kafkajs admin) and minus the consumer's position (consumer.stats).
// 4. Runs the same consumer again in a child process under `node --cpu-prof`
//    (new consumer group, new databases) and sums self time by function.
// Full runs (not --quick, default N) write benchmarks/results/kafka.json.
// Usage: --trades N, --quick, --no-postgres, --no-profile.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { summariseProfile } from '../cpuProfile.mjs';
import { fmt } from '../format.mjs';

const { Partitioners } = kafkajs;

const TOPIC = 'bench-trades';
const PARTITIONS = 6;
const SYMBOLS = 100;
/** Event-time spacing between consecutive trades (all symbols): 1 M trades span ~2.8 h, ~167 1m windows per symbol. */
const SPACING_MS = 10;
const END_WHEN_IDLE_MS = 1000;
/**
 * librdkafka's mock broker keeps at most 5 MB (and 100 k message sets) per
 * partition and silently drops the oldest messages beyond that (rdkafka_mock.c,
 * not configurable through its API): at ~75 bytes a stored trade that is
 * ~70 k trades per partition, ~420 k over 6. Against the mock the default is
 * therefore 360 k trades; 1 M needs a real broker (KAFKA_BROKERS).
 */
const MOCK_DEFAULT_TRADES = 360_000;
const REPEATS = 3;

/**
 * 100 symbol names spread evenly over the 6 partitions by kafkajs's default
 * (murmur2) partitioner, so no partition overflows the mock broker first.
 */
function symbolNames() {
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 0 }));
  const partitionOf = Partitioners.DefaultPartitioner();
  const per = Array.from({ length: PARTITIONS }, () => 0);
  const names = [];
  for (let i = 0; names.length < SYMBOLS; i++) {
    const name = `SYM${String(i).padStart(3, '0')}`;
    const p = partitionOf({ topic: TOPIC, partitionMetadata, message: { key: name } });
    if (per[p] >= Math.ceil(SYMBOLS / PARTITIONS)) continue;
    per[p]++;
    names.push(name);
  }
  return names;
}

/** Deterministic trades: random walk per symbol, up to 1.5 s of disorder (below the 2 s allowed). */
function* tradeStream(count) {
  let s = 0x9e3779b9;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const names = symbolNames();
  const prices = names.map((_, i) => 50 + i);
  const base = Date.UTC(2024, 0, 19, 10, 0);
  for (let i = 0; i < count; i++) {
    const k = Math.floor(rnd() * SYMBOLS);
    prices[k] = Math.max(1, Math.round((prices[k] + (rnd() - 0.5) * 0.2) * 100) / 100);
    yield { symbol: names[k], ts: base + i * SPACING_MS - Math.floor(rnd() * 1500), price: prices[k], size: 1 + Math.floor(rnd() * 100), side: rnd() < 0.5 ? 'buy' : 'sell' };
  }
}

/** Publishes `count` trades as MessagePack in batches of 10 k, encoding overlapped with sending. */
async function produce(brokers, count) {
  const { Kafka, logLevel } = kafkajs;
  const { pack } = await import('msgpackr');
  const kafka = new Kafka({ clientId: 'tickflow-bench-produce', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  // One sendBatch in flight at a time, the next batch encoded while it is on
  // the wire: with several in flight kafkajs may deliver them out of call
  // order (even with maxInFlightRequests: 1), which puts whole batches out of
  // order inside a partition, minutes of event-time disorder the windows then
  // count as late.
  const batchSize = 10_000;
  let bytes = 0;
  const started = performance.now();
  try {
    let pending = Promise.resolve();
    let msgs = [];
    for (const t of tradeStream(count)) {
      const value = pack(t);
      bytes += value.length;
      msgs.push({ key: t.symbol, value });
      if (msgs.length >= batchSize) {
        await pending;
        pending = producer.sendBatch({ topicMessages: [{ topic: TOPIC, messages: msgs }], acks: -1 });
        msgs = [];
      }
    }
    await pending;
    if (msgs.length > 0) await producer.sendBatch({ topicMessages: [{ topic: TOPIC, messages: msgs }], acks: -1 });
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  return { trades: count, bytes, seconds, tradesPerSecond: count / seconds };
}

async function topicEnds(admin) {
  return (await admin.fetchTopicOffsets(TOPIC)).map((p) => ({ partition: p.partition, high: Number(p.high), low: Number(p.low) }));
}

/**
 * Consumes the topic with a fresh group into ClickHouse (and PostgreSQL) and
 * returns timing, consumer stats and the lag series.
 */
export async function consume({ brokers, chUrl, pgUrl, tag, expected }) {
  const { kafkaConsumer } = await import('@tickflow/core/kafka');
  const { pipeline, keyBy } = await import('@tickflow/core');
  const { tumbling, ohlcv, volumeProfile, tickCount } = await import('@tickflow/windowing');
  const { clickhouse } = await import('@tickflow/sinks/clickhouse');
  const { Kafka, logLevel } = await import('kafkajs');
  const groupId = `bench-${tag}`;
  const database = `tickflow_kafka_${tag}`;
  const schema = `tickflow_kafka_${tag}`;
  const log = () => {};
  const sinks = [];
  const built = [];
  let warnings = 0;
  const onWarning = () => warnings++;
  const job = (operator, sink) => {
    const j = pipeline({ outOfOrderness: '2s', onWarning }).pipe(keyBy('symbol'), operator).to(sink);
    built.push(j);
    return j;
  };
  const grace = '5s';
  const jobs = () => {
    sinks.length = 0;
    built.length = 0;
    const chCandles = clickhouse({ url: chUrl, database, kind: 'candles', log });
    const chProfile = clickhouse({ url: chUrl, database, kind: 'volumeProfiles', log });
    const chTicks = clickhouse({ url: chUrl, database, kind: 'tickCounts', log });
    sinks.push(chCandles, chProfile, chTicks);
    const out = [
      job(tumbling({ size: ['1m', '5m'], grace }, ohlcv()), chCandles),
      job(tumbling({ size: '1m', grace }, volumeProfile({ step: 0.05 })), chProfile),
      job(tumbling({ size: '1m', grace }, tickCount()), chTicks),
    ];
    if (pgUrl !== undefined) {
      const pgCandles = pgTimescale({ url: pgUrl, schema, mode: 'postgres', aggregateRefresh: false, kind: 'candles', log });
      sinks.push(pgCandles);
      out.push(job(tumbling({ size: ['1m', '5m'], grace }, ohlcv()), pgCandles));
    }
    return out;
  };
  let pgTimescale;
  if (pgUrl !== undefined) ({ timescale: pgTimescale } = await import('@tickflow/sinks/timescale'));
  const consumer = kafkaConsumer({ brokers, topic: TOPIC, groupId, windows: { size: ['1m', '5m'], grace }, format: 'msgpack', commitInterval: 1000, onWarning: (m) => console.warn(`  [${tag}] ${m}`) });
  const admin = new Kafka({ clientId: 'tickflow-bench-lag', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const lag = [];
  const started = performance.now();
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const t = (performance.now() - started) / 1000;
      const [ends, committed] = await Promise.all([topicEnds(admin), admin.fetchOffsets({ groupId, topics: [TOPIC] })]);
      const byPart = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let committedLag = 0;
      for (const e of ends) {
        const c = byPart.get(e.partition);
        committedLag += e.high - (c !== undefined && c >= 0 ? c : e.low);
      }
      const st = consumer.stats;
      const consumedLag = Math.max(0, expected - st.messages);
      lag.push({ t: Math.round(t * 10) / 10, consumed: st.messages, consumedLag, committedLag, commits: st.commits });
    } catch {
      // a sample lost to a busy admin connection is skipped
    } finally {
      sampling = false;
    }
  };
  await sample();
  const timer = setInterval(() => void sample(), 500);
  let stats;
  let readEnd;
  let firstAt;
  const probe = setInterval(() => {
    const m = consumer.stats.messages;
    if (firstAt === undefined && m > 0) firstAt = performance.now();
    if (readEnd === undefined && m >= expected) readEnd = performance.now();
  }, 5);
  try {
    stats = await consumer.run({ jobs, durable: () => Promise.all(sinks.map((s) => s.flush())), endWhenIdle: END_WHEN_IDLE_MS });
  } finally {
    clearInterval(timer);
    clearInterval(probe);
  }
  const ended = performance.now();
  await sample();
  await admin.disconnect();
  const total = (ended - started) / 1000;
  // Read: first to last message pushed into the jobs; tail: from then to
  // every window fired, durable and committed. The endWhenIdle wait (1 s of
  // no messages plus a caught-up check) is inside the tail and subtracted
  // for the end-to-end rate.
  // The group join (the mock broker's initial rebalance delay, ~3 s) comes
  // before the first message and is reported apart; rates start at the first message.
  const joinSeconds = ((firstAt ?? ended) - started) / 1000;
  const readSeconds = ((readEnd ?? ended) - (firstAt ?? started)) / 1000;
  const tailSeconds = (ended - (readEnd ?? ended)) / 1000;
  const e2eSeconds = readSeconds + tailSeconds - END_WHEN_IDLE_MS / 1000;
  return {
    groupId,
    trades: stats.events,
    messages: stats.messages,
    commits: stats.commits,
    pauses: stats.pauses,
    assignments: stats.assignments,
    skippedReplayed: stats.skippedReplayed,
    jobs: built.map((j) => ({ events: j.stats.events, emitted: j.stats.emitted, late: j.stats.late })),
    pipelineWarnings: warnings,
    totalSeconds: total,
    joinSeconds,
    readSeconds,
    tailSeconds,
    endToEndSeconds: e2eSeconds,
    tradesPerSecond: stats.events / e2eSeconds,
    readTradesPerSecond: stats.events / readSeconds,
    lag,
  };
}

/** Runs consume() in a child process under --cpu-prof and returns its result and the profile summary. */
async function profiled({ brokers, chUrl, pgUrl, expected }) {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-kafka-prof-'));
  try {
    const script = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, script, '--child'], {
      env: { ...process.env, BENCH_CHILD: JSON.stringify({ brokers, chUrl, pgUrl, expected }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`profiled child exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').pop());
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    return { result, profile: summariseProfile(join(dir, file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows per table in the benchmark's ClickHouse database (what reached the store). */
async function storedRows(chUrl, tag) {
  const q = async (query) => {
    const res = await fetch(`${chUrl}/`, { method: 'POST', body: query });
    if (!res.ok) throw new Error(await res.text());
    return (await res.text()).trim();
  };
  const out = {};
  for (const t of (await q(`SHOW TABLES FROM tickflow_kafka_${tag}`)).split('\n').filter(Boolean)) out[t] = Number(await q(`SELECT count() FROM tickflow_kafka_${tag}.${t}`));
  return out;
}

async function dropDatabases(chUrl, pgUrl, tags) {
  for (const tag of tags) {
    await fetch(`${chUrl}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS tickflow_kafka_${tag}` }).catch(() => undefined);
  }
  if (pgUrl !== undefined) {
    const { default: postgres } = await import('postgres');
    const sql = postgres(pgUrl, { onnotice: () => {} });
    try {
      for (const tag of tags) await sql.unsafe(`DROP SCHEMA IF EXISTS tickflow_kafka_${tag} CASCADE`).catch(() => undefined);
    } finally {
      await sql.end();
    }
  }
}

function printRun(name, r) {
  console.log(`  ${name.padEnd(28)} ${fmt(r.tradesPerSecond).padStart(8)} trades/s end to end  (${r.trades} trades; group join ${r.joinSeconds.toFixed(2)} s, then read in ${r.readSeconds.toFixed(2)} s = ${fmt(r.readTradesPerSecond)}/s, then ${r.tailSeconds.toFixed(2)} s to end + flush + commit incl. ${END_WHEN_IDLE_MS / 1000} s idle wait; ${r.commits} commits, ${r.pauses} pauses)`);
  console.log(`      jobs (events/emitted/late): ${r.jobs.map((j) => `${j.events}/${j.emitted}/${j.late}`).join(', ')}; assignments ${r.assignments}, replayed-skipped ${r.skippedReplayed}`);
}

export async function main(args) {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean' }, trades: { type: 'string' }, 'no-postgres': { type: 'boolean' }, 'no-profile': { type: 'boolean' } } });
  const mock = process.env.KAFKA_BROKERS === undefined;
  const count = values.trades !== undefined ? Number(values.trades) : values.quick ? 200_000 : mock ? MOCK_DEFAULT_TRADES : 1_000_000;
  const full = !values.quick && values.trades === undefined;
  if (!Number.isInteger(count) || count <= 0) {
    console.error('--trades must be a positive integer');
    return 2;
  }
  const { startKafka, startClickHouse, startPostgres } = await import('@tickflow/test-services');
  const withPg = !values['no-postgres'];
  const services = [];
  const tags = [`${process.pid}_m`, `${process.pid}_p`];
  let chUrl;
  let pgUrl;
  try {
    // allSettled: whatever started is stopped in `finally` even when another server failed to start.
    const started = await Promise.allSettled([
      startKafka({ topics: [{ name: TOPIC, partitions: PARTITIONS }] }),
      startClickHouse(),
      withPg ? startPostgres() : Promise.resolve(undefined),
    ]);
    for (const r of started) if (r.status === 'fulfilled') services.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [kafka, ch, pg] = started.map((r) => r.value);
    chUrl = ch.url;
    pgUrl = pg?.url;
    const brokers = kafka.brokers;
    console.log(`kafka: ${fmt(count)} trades, ${SYMBOLS} symbols, ${PARTITIONS} partitions, MessagePack; broker ${kafka.external ? brokers.join(',') : `librdkafka mock (${brokers.join(',')})`}; sinks: ClickHouse candles 1m+5m, profile 1m, ticks 1m${withPg ? ', PostgreSQL candles 1m+5m' : ''}`);

    const production = await produce(brokers, count);
    console.log(`  produce                      ${fmt(production.tradesPerSecond).padStart(8)} trades/s  (${production.trades} trades, ${(production.bytes / 1e6).toFixed(1)} MB in ${production.seconds.toFixed(2)} s)`);

    const admin = new kafkajs.Kafka({ brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const ends = await topicEnds(admin).finally(() => admin.disconnect());
    const held = ends.reduce((a, e) => a + e.high - e.low, 0);
    if (held !== count || ends.some((e) => e.low !== 0)) {
      throw new Error(`the broker holds ${held} of the ${count} trades produced (low offsets ${ends.map((e) => e.low).join(',')}): librdkafka's mock broker drops the oldest messages beyond ~5 MB per partition; use --trades ≤ ${MOCK_DEFAULT_TRADES} or a real broker (KAFKA_BROKERS)`);
    }

    // The same topic consumed REPEATS times by fresh groups into fresh databases; the median run is reported.
    const runs = [];
    for (let i = 0; i < REPEATS; i++) {
      const tag = `${tags[0]}${i}`;
      tags.push(tag);
      const r = await consume({ brokers, chUrl, pgUrl, tag, expected: count });
      r.clickhouseRows = await storedRows(chUrl, tag).catch((e) => ({ error: String(e) }));
      printRun(`consume → sinks, run ${i + 1}`, r);
      runs.push(r);
    }
    const run = [...runs].sort((a, b) => a.tradesPerSecond - b.tradesPerSecond)[Math.floor(REPEATS / 2)];
    console.log(`  median: ${fmt(run.tradesPerSecond)} trades/s end to end; rows in ClickHouse: ${JSON.stringify(run.clickhouseRows)}`);
    console.log('  lag (messages behind the high watermark):');
    console.log('      t s   consumed   consumed-lag  committed-lag  commits');
    const step = Math.max(1, Math.ceil(run.lag.length / 20));
    for (let i = 0; i < run.lag.length; i++) {
      if (i % step !== 0 && i !== run.lag.length - 1) continue;
      const l = run.lag[i];
      console.log(`    ${l.t.toFixed(1).padStart(5)}  ${String(l.consumed).padStart(9)}  ${String(l.consumedLag).padStart(13)}  ${String(l.committedLag).padStart(13)}  ${String(l.commits).padStart(7)}`);
    }

    let profile;
    if (!values['no-profile']) {
      const p = await profiled({ brokers, chUrl, pgUrl, expected: count });
      printRun('same, under --cpu-prof', p.result);
      profile = { run: { ...p.result, lag: undefined }, ...p.profile };
      console.log(`  profile: ${p.profile.totalMs} ms sampled, ${p.profile.idleMs} ms idle (join, idle wait); % of the ${p.profile.busyMs} ms busy, self time by area:`);
      for (const a of p.profile.areas.slice(0, 12)) console.log(`    ${String(a.pct).padStart(5)} %  ${a.name}`);
      console.log('  top self time by function (% of busy):');
      for (const f of p.profile.functions.slice(0, 20)) console.log(`    ${String(f.pct).padStart(5)} %  ${String(f.ms).padStart(6)} ms  ${f.name}`);
    }

    if (full) {
      const out = new URL('../results/', import.meta.url);
      mkdirSync(out, { recursive: true });
      writeFileSync(
        new URL('kafka.json', out),
        `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, broker: kafka.external ? 'external' : 'librdkafka mock (in-process C, loopback)', trades: count, symbols: SYMBOLS, partitions: PARTITIONS, postgres: withPg, production, consume: run, runs: runs.map((r) => ({ ...r, lag: undefined })), profile }, null, 2)}\n`,
      );
    }
    return 0;
  } finally {
    if (chUrl !== undefined) await dropDatabases(chUrl, pgUrl, tags).catch(() => undefined);
    await Promise.all(services.map((s) => s?.stop()));
  }
}

// Child mode (under --cpu-prof): consume once, print the result as the last stdout line.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--child')) {
  const o = JSON.parse(process.env.BENCH_CHILD);
  const tag = `${process.ppid}_p`;
  const r = await consume({ ...o, tag });
  console.log(JSON.stringify({ ...r, lag: undefined }));
}
