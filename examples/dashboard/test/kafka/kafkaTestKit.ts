import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Candle, Trade } from '@tickflow/core';
import { collect, pipeline, fromArray } from '@tickflow/core';
import { SeededRandom } from '@tickflow/core/synthetic';
import { aggregationOperators } from '../../src/aggregation.js';
import { bundleScript, repoCacheDir } from '../bundleScript.js';

const here = dirname(fileURLToPath(import.meta.url));

let bundled: Promise<string> | undefined;

/** Bundles consumerChild.ts (sources of the workspace packages) into `<repo>/.cache/kafka-tests/` and returns its path. */
export function consumerChildScript(): Promise<string> {
  bundled ??= bundleScript(join(here, 'consumerChild.ts'), join(repoCacheDir('kafka-tests'), `consumerChild.${process.pid}.mjs`));
  return bundled;
}

/** Settings of one consumer child. */
export interface ChildEnv {
  readonly BROKERS: string;
  readonly TOPIC: string;
  readonly GROUP: string;
  readonly CH_URL: string;
  readonly CH_DB: string;
  readonly PG_URL: string;
  readonly PG_SCHEMA: string;
  readonly SLOW_WRITE_MS?: string;
  /** Sleep this many ms every 20 messages read (a busy consumer): reading no longer waits for commits, so only this bounds how far a child gets before a kill. */
  readonly SLOW_READ_MS?: string;
  readonly END_WHEN_IDLE_MS?: string;
  readonly DLT?: string;
  readonly MAX_BYTES?: string;
  /** Candle timeframes, comma-separated (default 1m,5m). */
  readonly TIMEFRAMES?: string;
  /** Folder of file checkpoints (window state stored with each commit); unset: no checkpoints. */
  readonly CHECKPOINT_DIR?: string;
}

/** A running consumer child: its process and a promise of its exit (code, stdout). */
export interface ConsumerChild {
  readonly process: ChildProcess;
  /** Resolves once the child has printed `n` lines starting with `prefix` (`commit`, `assigned`), or exited. */
  printed(prefix: string, n: number): Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts a consumer child process. */
export async function startConsumerChild(env: ChildEnv): Promise<ConsumerChild> {
  const script = await consumerChildScript();
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const waiters: { prefix: string; n: number; resolve: () => void }[] = [];
  const count = (prefix: string): number => out.split('\n').filter((l) => l.startsWith(prefix)).length;
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) {
      if (count(w.prefix) >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, out, err });
    });
  });
  void exit.then(() => {
    for (const w of waiters.splice(0)) w.resolve();
  });
  return {
    process: child,
    exit,
    printed: (prefix, n) => (count(prefix) >= n || child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ prefix, n, resolve }))),
  };
}

/** A fixed trade set: `count` trades over `symbols` symbols, `spacing` ms apart, each up to 1.5 s earlier than its slot (disorder below the 2 s allowed). */
export function fixedTrades(count: number, symbols: number, seed = 7, spacing = 500, base = Date.UTC(2024, 0, 19, 10, 0)): Trade[] {
  const rnd = new SeededRandom(seed);
  const names = Array.from({ length: symbols }, (_, i) => `SYM${String(i + 1).padStart(2, '0')}`);
  const prices = names.map(() => 100);
  const out: Trade[] = [];
  for (let i = 0; i < count; i++) {
    const s = Math.floor(rnd.next() * symbols);
    prices[s] = Math.max(1, Math.round((prices[s]! + (rnd.next() - 0.5)) * 100) / 100);
    out.push({ symbol: names[s]!, ts: base + i * spacing - Math.floor(rnd.next() * 1500), price: prices[s]!, size: 1 + Math.floor(rnd.next() * 100), side: rnd.next() < 0.5 ? 'buy' : 'sell' });
  }
  return out;
}

type Timeframe = '1m' | '5m' | '15m' | '1h' | '1d';

/** The offline aggregation (the CLI's code path) of trades into candles (default 1m+5m), sorted by symbol, timeframe, start. */
export async function offlineCandles(trades: readonly Trade[], timeframes: readonly Timeframe[] = ['1m', '5m']): Promise<Candle[]> {
  const ops = aggregationOperators({ timeframes: [...timeframes], kind: 'candles' });
  const out = collect<Candle>();
  await pipeline(fromArray([...trades]), { outOfOrderness: '2s' }).pipe(ops[0], ops[1]).to(out).run();
  return sortCandles(out.values);
}

const TF_MS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };

/** Candles in a canonical order and shape for comparisons. */
export function sortCandles(candles: readonly Candle[]): Candle[] {
  return candles
    .map((c) => ({ symbol: c.symbol, timeframe: c.timeframe, start: c.start, end: c.end, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades, vwap: c.vwap, buyVolume: c.buyVolume, sellVolume: c.sellVolume, final: c.final, rev: c.rev }))
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : (TF_MS[a.timeframe] ?? 0) - (TF_MS[b.timeframe] ?? 0) || a.start - b.start));
}

/** Reads every candle of `symbols` (timeframes default 1m and 5m) from a ClickHouse database and a PostgreSQL schema. */
export async function storedCandles(o: { chUrl: string; chDb: string; pgUrl: string; pgSchema: string; symbols: readonly string[]; timeframes?: readonly Timeframe[] }): Promise<{ clickhouse: Candle[]; postgres: Candle[] }> {
  const { ClickHouseStore } = await import('@tickflow/sinks/clickhouse');
  const { TimescaleStore } = await import('@tickflow/sinks/timescale');
  const timeframes = o.timeframes ?? ['1m', '5m'];
  const ch = await ClickHouseStore.connect({ url: o.chUrl, database: o.chDb, timeframes: [...timeframes], log: () => {} });
  const pg = await TimescaleStore.connect({ url: o.pgUrl, schema: o.pgSchema, mode: 'postgres', aggregateRefresh: false, log: () => {} });
  try {
    const chRows: Candle[] = [];
    const pgRows: Candle[] = [];
    for (const timeframe of timeframes) {
      chRows.push(...(await ch.readCandles({ timeframe })));
      for (const symbol of o.symbols) pgRows.push(...(await pg.readCandles({ symbol, timeframe, from: 0, to: 4_102_444_800_000 })));
    }
    return { clickhouse: sortCandles(chRows), postgres: sortCandles(pgRows) };
  } finally {
    await ch.close();
    await pg.close();
  }
}

/** Publishes trades with kafkajs (key = symbol, Kafka's default murmur2 partitioner), JSON values. */
export async function publishTrades(brokers: readonly string[], topic: string, trades: readonly Trade[]): Promise<Record<number, number>> {
  const { Kafka, Partitioners, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < trades.length; i += 500) {
    await producer.send({ topic, acks: -1, messages: trades.slice(i, i + 500).map((t) => ({ key: t.symbol, value: JSON.stringify(t) })) });
  }
  await producer.disconnect();
  return partitionCounts(brokers, topic);
}

/** Messages per partition of a topic. */
export async function partitionCounts(brokers: readonly string[], topic: string): Promise<Record<number, number>> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const out: Record<number, number> = {};
    for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = Number(p.high) - Number(p.low);
    return out;
  } finally {
    await admin.disconnect();
  }
}
