// The fault tests' Kafka side: producing trades with kcat, reading a topic
// back (where each trade landed), and a consumer group's committed offsets.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE } from './faultKit.js';
import type { GenTrade, Placement } from './generateTrades.js';

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString(), err }));
    c.stdin.end(input ?? '');
  });
}

/** Produces trades with kcat (key = symbol, murmur2 like Kafka's Java client and kafkajs), in order, waiting for every delivery. */
export async function kcatProduce(brokers: readonly string[], topic: string, trades: readonly GenTrade[], tag: string): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `produce.${process.pid}.${tag}.txt`);
  writeFileSync(file, trades.map((t) => `${t.symbol}\t${JSON.stringify({ symbol: t.symbol, ts: t.ts, price: t.price, size: t.size, side: t.side, id: t.id })}`).join('\n') + '\n');
  const r = await run('kcat', ['-P', '-b', brokers.join(','), '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'max.in.flight.requests.per.connection=1', '-l', file]);
  rmSync(file, { force: true });
  if (r.code !== 0) throw new Error(`kcat -P ${topic} failed (${r.code}): ${r.err.slice(-2000)}`);
}

/** Reads a whole topic with kcat: where each trade id landed, and what else is there. */
export async function kcatReadTopic(brokers: readonly string[], topic: string): Promise<{ placement: Map<string, Placement>; count: number; undecodable: number; duplicates: number; keyMismatch: number }> {
  const r = await run('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%k\t%s\n']);
  if (r.code !== 0) throw new Error(`kcat -C ${topic} failed (${r.code}): ${r.err.slice(-2000)}`);
  const placement = new Map<string, Placement>();
  let count = 0, undecodable = 0, duplicates = 0, keyMismatch = 0;
  for (const line of r.out.split('\n')) {
    if (line === '') continue;
    count++;
    const [p, o, k, ...rest] = line.split('\t');
    try {
      const v = JSON.parse(rest.join('\t')) as { id: string; symbol: string };
      if (placement.has(v.id)) duplicates++;
      if (v.symbol !== k) keyMismatch++;
      placement.set(v.id, { partition: Number(p), offset: Number(o) });
    } catch {
      undecodable++;
    }
  }
  return { placement, count, undecodable, duplicates, keyMismatch };
}

/** Committed offsets of a group and the high and low watermarks, per partition. */
export async function groupOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<{ committed: number[]; high: number[]; low: number[] }> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
  await admin.connect();
  try {
    const [c, ends] = await Promise.all([admin.fetchOffsets({ groupId, topics: [topic] }), admin.fetchTopicOffsets(topic)]);
    const n = ends.length;
    const committed = new Array<number>(n).fill(0);
    const high = new Array<number>(n).fill(0);
    const low = new Array<number>(n).fill(0);
    for (const p of c[0]?.partitions ?? []) committed[p.partition] = Math.max(0, Number(p.offset));
    for (const e of ends) {
      high[e.partition] = Number(e.high);
      low[e.partition] = Number(e.low);
    }
    return { committed, high, low };
  } finally {
    await admin.disconnect();
  }
}


/** Σ of per-partition offsets. */
export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
