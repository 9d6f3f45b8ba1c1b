import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle, Trade } from '@tickflow/core';
import { RedisStore } from '@tickflow/sinks/redis';
import { createClient } from '@tickflow/ws-server/client';
import { startKafka, startPostgres, startRestartableRedis } from '@tickflow/test-services';
import type { KafkaService, PostgresService, RestartableRedis } from '@tickflow/test-services';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';

/** Trades of two symbols, one every 10 ms per symbol, starting `from` (event time). */
function tradesFrom(from: number, n: number, seq0: number): Trade[] {
  const out: Trade[] = [];
  for (let i = 0; i < n; i++) {
    const symbol = i % 2 === 0 ? 'AAA' : 'BBB';
    out.push({ symbol, ts: from + Math.floor(i / 2) * 10, price: (symbol === 'AAA' ? 100 : 50) + (i % 7) * 0.01, size: 1 + (i % 3), side: i % 3 === 0 ? 'sell' : 'buy', id: `t${seq0 + i}`, bid: 99.9, ask: 100.1 } as Trade);
  }
  return out;
}

describe('reference server in full mode: Kafka ingest, PostgreSQL, Redis, WebSocket', () => {
  let kafka: KafkaService;
  let pg: PostgresService;
  let redis: RestartableRedis;
  let producer: Producer;
  const dirs: string[] = [];
  const servers: ReferenceServer[] = [];
  let seq = 0;
  /** Start of the two minutes the first test produces. */
  let t0 = 0;

  const start = async (extra: Record<string, unknown> = {}): Promise<ReferenceServer> => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-kafka-full-'));
    dirs.push(dir);
    const s = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: process.env.DEBUG_LOG ?? 'silent', jwtSecret: SECRET, dataDir: dir, kafkaBrokers: kafka.brokers.join(','), kafkaGroup: `g-${Date.now()}`, databaseUrl: pg.url, redisUrl: redis.url, ...extra });
    servers.push(s);
    return s;
  };
  const login = async (s: ReferenceServer, username = 'viewer'): Promise<string> => {
    const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: username }) });
    return ((await r.json()) as { accessToken: string }).accessToken;
  };
  const produce = async (trades: readonly Trade[], topic = 'trades'): Promise<void> => {
    // In sends of 5 000: one send of 24 000 messages took 16.8 s on librdkafka's mock broker (1 000: 85 ms), the 24 000 in fives 0.35 s.
    for (let i = 0; i < trades.length; i += 5_000) await producer.send({ topic, messages: trades.slice(i, i + 5_000).map((t) => ({ key: t.symbol, value: JSON.stringify(t) })) });
  };

  beforeAll(async () => {
    [kafka, pg, redis] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 2 }, { name: 'quotes', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }, { name: 'restart-trades', partitions: 2 }, { name: 'restart-quotes', partitions: 1 }], ownServer: true }), startPostgres(), startRestartableRedis()]);
    producer = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await Promise.all([kafka?.stop(), pg?.stop(), redis?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // The first node runs ingest in the worker thread (dist/ingestWorker.js: the build), the second on the main thread.
  it('ingests trades from Kafka into candles in PostgreSQL and Redis, REST and the WebSocket; bad messages go to the dead-letter topic', async () => {
    const server = await start({ ingestThread: 'worker' });
    const token = await login(server);
    const ws = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, token, WebSocket: WebSocket as never, reconnect: false, pingInterval: 60_000 });
    const received: Trade[] = [];
    const candles: Candle[] = [];
    ws.subscribe('trades:AAA', (u) => received.push(...(u.rows as Trade[])));
    ws.subscribe('candles:AAA:1m', (u) => candles.push(...(u.rows as Candle[])));
    // Two minutes of event time ending now: the first minute's windows close.
    t0 = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    await until(async () => (ws.status === 'open' ? true : undefined), 'WebSocket open');
    await produce(tradesFrom(t0, 24_000, seq));
    seq += 24_000;
    await producer.send({ topic: 'trades', messages: [{ key: 'AAA', value: '{"symbol":"AAA","price":"not a number"}' }] });

    const hdr = { authorization: `Bearer ${token}` };
    const body = await until(async () => {
      const r = await fetch(`${server.url}/api/aggregates/AAA/1m?from=${t0}&to=${t0 + 120_000}`, { headers: hdr });
      const b = (await r.json()) as { candles: Candle[] };
      return r.status === 200 && b.candles.length === 2 && b.candles[1]!.trades === 6_000 ? { b, source: r.headers.get('x-data-source') } : undefined;
    }, 'two 1m candles of AAA over REST');
    expect(body.source).toBe('postgres');
    expect(body.b.candles[0]!.trades).toBe(6_000);
    expect(body.b.candles[0]!.volume).toBe(tradesFrom(t0, 24_000, 0).filter((t) => t.symbol === 'AAA' && t.ts < t0 + 60_000).reduce((a, t) => a + t.size, 0));

    await until(async () => (received.length > 0 && candles.length > 0 ? true : undefined), 'trades and candles over the WebSocket');
    expect(received.every((t) => t.symbol === 'AAA')).toBe(true);

    const reader = await RedisStore.connect({ url: redis.url, log: () => {} });
    try {
      const latest = await until(async () => {
        const c = await reader.getCandle('AAA', '1m');
        return c !== undefined && c.start === t0 + 60_000 ? c : undefined;
      }, 'the latest 1m candle of AAA in Redis');
      expect(latest.symbol).toBe('AAA');
      expect((await reader.getLastTrade('BBB'))?.symbol).toBe('BBB');
    } finally {
      await reader.close();
    }

    // The malformed message: counted as a dead letter, never a crash.
    const health = await until(async () => {
      const h = (await (await fetch(`${server.url}/healthz`)).json()) as { events: number; deadLetters: number; mode: string };
      return h.deadLetters >= 1 ? h : undefined;
    }, 'the dead letter counted');
    expect(health.mode).toBe('full');
    expect(health.events).toBeGreaterThanOrEqual(24_000);

    // Ingest does not wait for the stores (a commit waits for them, the reading goes on): wait for the sinks' figures.
    const metrics = await until(async () => {
      const m = await (await fetch(`${server.url}/metrics`)).text();
      return /tickflow_sink_rows_written_total\{store="postgres",table="candles"\} [1-9]/.test(m) && /tickflow_sink_rows_written_total\{store="redis",table="trades"\} [1-9]/.test(m) ? m : undefined;
    }, 'rows written by the PostgreSQL and Redis sinks');
    expect(metrics).toMatch(/tickflow_breaker_state\{store="postgres",path="read"\} 0/);
    expect(metrics).toMatch(/tickflow_kafka_consumer_lag_messages\{topic="trades",partition="all"\} \d/);
    expect(metrics).toMatch(/tickflow_sink_write_duration_seconds_count\{store="postgres",table="candles"\} [1-9]/);
    ws.close();
  }, 120_000);

  it('shares settled aggregates between nodes through Redis, and answers from the in-process cache while Redis is down', async () => {
    const [a, b] = [servers[0]!, await start()];
    const path = `/api/aggregates/AAA/1m?from=${t0}&to=${t0 + 60_000}`;
    const get = async (s: ReferenceServer) => {
      const r = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${await login(s)}` } });
      return { status: r.status, cache: r.headers.get('x-cache'), body: (await r.json()) as { candles: Candle[] } };
    };
    // The minute turns final once the watermark passes its end + grace (the idle partition stops holding it back after 5 s).
    const first = await until(async () => {
      const r = await get(a);
      return r.cache !== 'bypass' ? r : undefined;
    }, 'the first minute final');
    expect(first.status).toBe(200);
    expect(first.body.candles.map((c) => [c.trades, c.final])).toEqual([[6_000, true]]);
    expect(first.cache).toBe('miss');
    expect(first.body.candles).toHaveLength(1);
    const shared = await until(async () => {
      const r = await get(b);
      return r.cache === 'hit-redis' ? r : undefined;
    }, 'the other node reads the cached result from Redis');
    expect(shared.body).toEqual(first.body);
    expect((await get(b)).cache).toBe('hit'); // now in its own process too

    await redis.kill();
    const other = `/api/aggregates/BBB/1m?from=${t0}&to=${t0 + 60_000}`;
    const token = await login(a);
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${a.url}${other}`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-cache')).toBe(i === 0 ? 'miss' : 'hit');
    }
    await redis.restart();
  }, 60_000);

  it('enforces WebSocket entitlements per role', async () => {
    const s = await start({ wsEntitlements: 'viewer:ticker|candles,trader:*,admin:*' });
    const errors: string[] = [];
    const viewer = createClient({ url: `${s.url.replace('http', 'ws')}/ws`, token: await login(s, 'viewer'), WebSocket: WebSocket as never, reconnect: false });
    viewer.on('error', (e: { code: string }) => errors.push(e.code));
    viewer.subscribe('trades:AAA', () => {});
    viewer.subscribe('candles:AAA:1m', () => {});
    await until(async () => (errors.includes('FORBIDDEN') ? true : undefined), 'FORBIDDEN for a viewer on trades:AAA', 5_000);
    expect(errors.filter((e) => e === 'FORBIDDEN')).toHaveLength(1);
    viewer.close();
  }, 30_000);

  it('keeps candles exactly once across a restart: a new server in the same group resumes from the committed offsets', async () => {
    for (const s of servers.splice(0)) await s.close();
    const group = `restart-${Date.now()}`;
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 180_000;
    // A topic of its own: the trades of the other tests would make these late.
    const topics = { kafkaGroup: group, kafkaTradesTopic: 'restart-trades', kafkaQuotesTopic: 'restart-quotes' };
    // Worker thread first, main thread after the restart: the checkpoints and offsets carry over either way.
    const first = await start({ ...topics, ingestThread: 'worker' });
    await produce(tradesFrom(t0, 12_000, seq), 'restart-trades');
    seq += 12_000;
    const hdr = { authorization: `Bearer ${await login(first)}` };
    await until(async () => {
      const r = await fetch(`${first.url}/api/aggregates/AAA/1m?from=${t0}&to=${t0 + 60_000}`, { headers: hdr });
      return r.status === 200 && ((await r.json()) as { candles: Candle[] }).candles[0]?.trades === 6_000 ? true : undefined;
    }, 'the first minute in PostgreSQL');
    await first.close();
    servers.splice(0);

    // The next minute arrives while no server runs; the new one picks it up from the committed offsets.
    await produce(tradesFrom(t0 + 60_000, 12_000, seq), 'restart-trades');
    seq += 12_000;
    await produce(tradesFrom(t0 + 120_000, 200, seq), 'restart-trades'); // closes the second minute (watermark past end + grace)
    seq += 200;
    const second = await start(topics);
    const hdr2 = { authorization: `Bearer ${await login(second)}` };
    const candles = await until(async () => {
      const r = await fetch(`${second.url}/api/aggregates/AAA/1m?from=${t0}&to=${t0 + 120_000}`, { headers: hdr2 });
      const b = (await r.json()) as { candles: Candle[] };
      return r.status === 200 && b.candles.length === 2 && b.candles[1]!.trades === 6_000 ? b.candles : undefined;
    }, 'both minutes after the restart');
    // Exactly once: the first minute was not counted twice by the replay after the restart.
    expect(candles.map((c) => c.trades)).toEqual([6_000, 6_000]);
  }, 90_000);
});
