import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startRedisSentinel } from '@tickflow/test-services';
import type { RunningService } from '@tickflow/test-services';
import { redisBridge, startWsServer } from '../src/index.js';
import type { DeltaMessage, SnapshotMessage } from '../src/protocol.js';
import { candle, rawClient } from './rawClient.js';

// Two server *processes* (child processes running test/bridgeNode.ts, bundled from src with esbuild)
// bridged through a real redis-server started on loopback.
const outDir = fileURLToPath(new URL('../node_modules/.tickflow-test/', import.meta.url));
const script = `${outDir}bridgeNode-${process.pid}.mjs`;
let redis: RunningService;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  redis = await startRedis();
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL('./bridgeNode.ts', import.meta.url))],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@tickflow/source'],
    external: ['ws', 'msgpackr', 'jose', 'ioredis', 'eventemitter3', 'zod'],
    logLevel: 'error',
  });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(script, { force: true });
  await redis?.stop();
});

function startNode(): Promise<{ child: ChildProcessWithoutNullStreams; url: string; send: (cmd: unknown) => void }> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, REDIS_URL: redis.url }, stdio: 'pipe' });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${err}`)), 10_000);
    child.stdout.on('data', (d) => {
      const m = /READY (\S+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, send: (cmd) => child.stdin.write(`${typeof cmd === 'string' ? cmd : JSON.stringify(cmd)}\n`) });
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}: ${err}`)));
  });
}

describe('redisBridge', () => {
  it('delivers updates ingested on node A to a client of node B (two server processes, real Redis)', async () => {
    const [a, b] = await Promise.all([startNode(), startNode()]);
    const onB = await rawClient(b.url);
    const onA = await rawClient(a.url, { format: 'json' });
    for (const c of [onA, onB]) {
      c.send({ type: 'subscribe', channels: ['candles:AAPL:1m', 'ticker'] });
      await c.next('snapshot');
      await c.next('snapshot');
    }
    a.send({ publish: 'candles', events: [candle()] });
    a.send({ publish: 'trades', events: [{ symbol: 'AAPL', ts: 1, price: 100, size: 5 }] });
    const dB = (await onB.next('delta', (m) => m.channel === 'candles:AAPL:1m', 5_000)) as DeltaMessage;
    expect(dB.rows).toEqual([candle()]);
    expect(((await onB.next('delta', (m) => m.channel === 'ticker', 5_000)) as DeltaMessage).rows).toEqual([
      { symbol: 'AAPL', last: 100, open: 100, change: 0, changePct: 0, volume: 5, ts: 1 },
    ]);
    expect(((await onA.next('delta', (m) => m.channel === 'candles:AAPL:1m', 5_000)) as DeltaMessage).rows).toEqual([candle()]);
    // And the other way round, with only the changed fields.
    b.send({ publish: 'candles', events: [candle({ close: 101, high: 102, rev: 2 })] });
    expect(((await onA.next('delta', (m) => m.channel === 'candles:AAPL:1m', 5_000)) as DeltaMessage).rows).toEqual([{ start: 60_000, close: 101, high: 102, rev: 2 }]);
    // A late joiner on B gets the bridged state in its snapshot.
    const late = await rawClient(b.url);
    late.send({ type: 'subscribe', channels: ['candles:AAPL:1m'] });
    expect(((await late.next('snapshot')) as SnapshotMessage).rows).toEqual([candle({ close: 101, high: 102, rev: 2 })]);
    for (const c of [onA, onB, late]) await c.close();
    for (const n of [a, b]) {
      const exited = new Promise((r) => n.child.once('exit', r));
      n.send('close');
      await exited;
    }
  });

  it('bridges through the master a Redis Sentinel group names (in-process nodes)', async () => {
    const group = await startRedisSentinel();
    try {
      const bridge = () => redisBridge({ sentinels: [...group.sentinels], name: group.masterName, channel: 'tickflow:sentinel-test' });
      const [a, b] = await Promise.all([startWsServer({ flushInterval: 5, bridge: bridge() }), startWsServer({ flushInterval: 5, bridge: bridge() })]);
      try {
        const onB = await rawClient(b.url);
        onB.send({ type: 'subscribe', channels: ['candles:AAPL:1m'] });
        await onB.next('snapshot');
        a.publish('candles', [candle()]);
        expect(((await onB.next('delta', (m) => m.channel === 'candles:AAPL:1m', 5_000)) as DeltaMessage).rows).toEqual([candle()]);
        await onB.close();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      await group.stop();
    }
  });

  it('a node alone on the channel publishes nothing; a node that joins gets everything published after its start; own messages never come back', async () => {
    const channel = `tickflow:alone-${Math.random().toString(36).slice(2)}`;
    const admin = new Redis(redis.url);
    const publishCalls = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const errors: string[] = [];
    const got = { a: [] as unknown[], b: [] as unknown[] };
    // A's periodic check is 10 minutes away: only B's hello can tell A that B joined.
    const a = redisBridge({ url: redis.url, channel, peerCheckInterval: 600_000, onError: (e) => errors.push(e.message) });
    const b = redisBridge({ url: redis.url, channel, peerCheckInterval: 100, onError: (e) => errors.push(e.message) });
    try {
      await a.start((kind, events) => got.a.push(...events.map((e) => ({ kind, e }))));
      // Alone: after Redis answered NUMSUB, A's publishes are skipped and Redis sees no PUBLISH.
      await expect.poll(() => (a.publish('trades', [{ n: -1 }]), a.stats.skipped), { timeout: 5_000 }).toBeGreaterThan(0);
      const before = await publishCalls();
      for (let i = 0; i < 50; i++) a.publish('trades', [{ n: -2 }]);
      expect(await publishCalls()).toBe(before);
      expect(a.stats.skipped).toBeGreaterThanOrEqual(51);
      await b.start((kind, events) => got.b.push(...events.map((e) => ({ kind, e }))));
      // start() resolved once A answered B's hello: A publishes from the first event on.
      for (let n = 0; n < 100; n++) a.publish('trades', [{ n }]);
      await expect.poll(() => got.b.length, { timeout: 5_000 }).toBe(100);
      expect(got.b).toEqual(Array.from({ length: 100 }, (_, n) => ({ kind: 'trades', e: { n } })));
      // B publishes too (it saw A in NUMSUB); neither node gets its own messages back.
      b.publish('quotes', [{ q: 1 }]);
      await expect.poll(() => got.a, { timeout: 5_000 }).toEqual([{ kind: 'quotes', e: { q: 1 } }]);
      expect(got.b.every((m) => (m as { kind: string }).kind === 'trades')).toBe(true);
      expect(a.stats.received).toBe(1);
      // A leaves: B's check finds it alone again and stops publishing.
      await a.close();
      const skipped = b.stats.skipped;
      await expect.poll(() => (b.publish('trades', [{ n: 0 }]), b.stats.skipped), { timeout: 5_000 }).toBeGreaterThan(skipped);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      admin.disconnect();
    }
  });

  it('needs either a url or sentinels and a name', () => {
    expect(() => redisBridge({ sentinels: [{ host: '127.0.0.1', port: 26379 }] })).toThrow(/give either url, or sentinels and name/);
    expect(() => redisBridge({})).toThrow(/give either url, or sentinels and name/);
  });

  it('fails loudly when Redis is unreachable at start', async () => {
    await expect(startWsServer({ bridge: redisBridge({ url: 'redis://127.0.0.1:1' }) })).rejects.toMatchObject({ code: 'BRIDGE_FAILED' });
  });
});
