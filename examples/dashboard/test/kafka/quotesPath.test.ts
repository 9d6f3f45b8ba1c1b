import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Quote } from '@tickflow/core';
import { RedisStore } from '@tickflow/sinks/redis';
import { createClient } from '@tickflow/ws-server/client';
import { startKafka, startRedis } from '@tickflow/test-services';
import type { KafkaService, RunningService } from '@tickflow/test-services';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

/** `n` quotes of `symbol` from `t0`, 250 ms apart, each moving the book by a cent. */
function quotes(symbol: string, t0: number, n: number, mid: number): Quote[] {
  return Array.from({ length: n }, (_, i) => ({ symbol, ts: t0 + i * 250, bid: Math.round((mid + i * 0.01 - 0.01) * 100) / 100, ask: Math.round((mid + i * 0.01 + 0.01) * 100) / 100, bidSize: 100 + i, askSize: 200 + i }));
}

describe('quotes path in full mode: Kafka quotes topic → WebSocket quotes:SYM and Redis', () => {
  let kafka: KafkaService;
  let redis: RunningService;
  let producer: Producer;
  let server: ReferenceServer;
  let dir: string;

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 1 }, { name: 'quotes', partitions: 2 }, { name: 'trades-dead-letter', partitions: 1 }], ownServer: true }), startRedis()]);
    producer = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    dir = mkdtempSync(join(tmpdir(), 'tickflow-quotes-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: process.env.DEBUG_LOG ?? 'silent', jwtSecret: 'quotes-secret-quotes-secret-quotes-secret', dataDir: dir, kafkaBrokers: kafka.brokers.join(','), kafkaGroup: `quotes-${Date.now()}`, redisUrl: redis.url, ingestThread: 'main' });
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await producer?.disconnect().catch(() => undefined);
    await Promise.all([kafka?.stop(), redis?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers each symbol’s latest quote to quotes:SYM subscribers and stores it in Redis with the count of distinct quotes; bad messages change nothing', async () => {
    const guest = (await (await fetch(`${server.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string };
    const ws = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, token: guest.accessToken, WebSocket: WebSocket as never, reconnect: false, pingInterval: 60_000 });
    const seen: Quote[] = [];
    const other: Quote[] = [];
    ws.subscribe('quotes:QQA', (u) => seen.push(...(u.rows as Quote[])));
    ws.subscribe('quotes:QQB', (u) => other.push(...(u.rows as Quote[])));
    try {
      await until(async () => (ws.status === 'open' ? true : undefined), 'WebSocket open');
      const t0 = Date.now() - 60_000;
      const a = quotes('QQA', t0, 40, 100);
      const b = quotes('QQB', t0, 25, 50);
      // Interleaved as a feed sends them, plus messages the consumer must refuse (not JSON, a quote without ask, a negative size).
      const bad = ['{not json', JSON.stringify({ symbol: 'QQA', ts: t0 + 99_000, bid: 1 }), JSON.stringify({ symbol: 'QQA', ts: t0 + 99_500, bid: 1, ask: 2, bidSize: -5 })];
      const messages = [...a.map((q, i) => [q, b[i]] as const).flat().filter((q) => q !== undefined).map((q) => ({ key: q.symbol, value: JSON.stringify(q) })), ...bad.map((value) => ({ key: 'QQA', value }))];
      await producer.send({ topic: 'quotes', acks: -1, messages });

      const lastA = a[a.length - 1]!;
      const lastB = b[b.length - 1]!;
      // The WebSocket: the keyed channel converges on the latest quote (intermediate ones may be conflated).
      await until(async () => (seen.length > 0 && seen[seen.length - 1]!.ts === lastA.ts && other.length > 0 && other[other.length - 1]!.ts === lastB.ts ? true : undefined), 'the latest quotes over the WebSocket');
      expect(seen[seen.length - 1]).toMatchObject(lastA);
      expect(other[other.length - 1]).toMatchObject(lastB);
      expect(seen.every((q) => q.symbol === 'QQA' && q.ask > q.bid)).toBe(true);

      // Redis: quotes:{symbol} holds the latest quote and counts each distinct quote once.
      const reader = await RedisStore.connect({ url: redis.url, log: () => {} });
      try {
        const stateA = await until(async () => {
          const s = await reader.getQuote('QQA');
          return s !== undefined && s.count === a.length ? s : undefined;
        }, 'QQA in Redis');
        expect(stateA.quote).toEqual(lastA);
        const stateB = await until(async () => {
          const s = await reader.getQuote('QQB');
          return s !== undefined && s.count === b.length ? s : undefined;
        }, 'QQB in Redis');
        expect(stateB.quote).toEqual(lastB);

        // A client that subscribes later gets the latest quote as its snapshot.
        const lateClient = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, token: guest.accessToken, WebSocket: WebSocket as never, reconnect: false, pingInterval: 60_000 });
        try {
          const late: Quote[] = [];
          lateClient.subscribe('quotes:QQA', (u) => late.push(...(u.rows as Quote[])));
          await until(async () => (late.length > 0 ? true : undefined), 'the snapshot of a new subscription');
          expect(late[late.length - 1]).toMatchObject(lastA);
        } finally {
          lateClient.close();
        }

        // Replaying the same quotes (at-least-once delivery) leaves the count where it was.
        await producer.send({ topic: 'quotes', acks: -1, messages: a.slice(-5).map((q) => ({ key: q.symbol, value: JSON.stringify(q) })) });
        const marker = quotes('QQA', lastA.ts + 1_000, 1, 101)[0]!;
        await producer.send({ topic: 'quotes', acks: -1, messages: [{ key: 'QQA', value: JSON.stringify(marker) }] });
        const after = await until(async () => {
          const s = await reader.getQuote('QQA');
          return s !== undefined && s.quote.ts === marker.ts ? s : undefined;
        }, 'the marker quote in Redis');
        expect(after.count).toBe(a.length + 1);
      } finally {
        await reader.close();
      }
      // The bad messages were refused without stopping the server.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      ws.close();
    }
  }, 120_000);
});
