// User events in full mode, over librdkafka's mock Kafka broker and Debian's
// ClickHouse 18.16: POST /api/events produces to the events topic, the
// server's consumer stores the events in ClickHouse user_events and counts
// them; bad events (rejected by the POST, or produced straight to the topic)
// land in events-dead-letter with their reason; a redelivered event leaves
// one row. A server with ClickHouse and no Kafka stores straight into the table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';
import { startClickHouse, startKafka } from '@tickflow/test-services';
import type { ClickHouseService, KafkaService } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';

describe('user events in full mode: Kafka events topic → ClickHouse user_events, counts, dead letters', () => {
  let kafka: KafkaService;
  let clickhouse: ClickHouseService;
  let ch: ClickHouseClient;
  let producer: Producer;
  let dltConsumer: Consumer;
  let server: ReferenceServer;
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-uev-full-'));
  const deadLetters: { value: string; reason: string; origin: string }[] = [];
  const tokens: Record<string, string> = {};
  /** Client time of the first test's events. */
  let now = 0;

  const rows = async (): Promise<{ id: string; type: string; user: string; n: string }[]> => {
    const rs = await ch.query({ query: 'SELECT id, `type`, `user`, toString(count()) AS n FROM tickflow.user_events FINAL GROUP BY id, `type`, `user` ORDER BY id', format: 'JSONEachRow' });
    return rs.json();
  };

  beforeAll(async () => {
    [kafka, clickhouse] = await Promise.all([
      startKafka({ topics: [{ name: 'trades', partitions: 1 }, { name: 'quotes', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }, { name: 'events', partitions: 2 }, { name: 'events-dead-letter', partitions: 1 }], ownServer: true }),
      startClickHouse(),
    ]);
    ch = createClient({ url: clickhouse.url });
    const k = new Kafka({ brokers: [...kafka.brokers], logLevel: logLevel.NOTHING });
    producer = k.producer();
    await producer.connect();
    dltConsumer = k.consumer({ groupId: `dlt-reader-${Date.now()}` });
    await dltConsumer.connect();
    await dltConsumer.subscribe({ topic: 'events-dead-letter', fromBeginning: true });
    await dltConsumer.run({
      eachMessage: async ({ message }) => {
        deadLetters.push({ value: message.value?.toString() ?? '', reason: message.headers?.['tickflow-reason']?.toString() ?? '', origin: message.headers?.['tickflow-origin']?.toString() ?? '' });
      },
    });
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: process.env.DEBUG_LOG ?? 'silent', jwtSecret: SECRET, dataDir: dir, kafkaBrokers: kafka.brokers.join(','), kafkaGroup: `g-${Date.now()}`, clickhouseUrl: clickhouse.url, ingestThread: 'main', userEventsTtl: '30d' });
    for (const u of ['viewer', 'admin']) {
      const r = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: u }) });
      tokens[u] = ((await r.json()) as { accessToken: string }).accessToken;
    }
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await dltConsumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await ch?.close();
    await Promise.all([kafka?.stop(), clickhouse?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores what POST /api/events accepted, counts it per type, and dead-letters bad events with their reason', async () => {
    now = Date.now();
    const ev = (type: string, extra: Record<string, unknown>, i: number) => ({ version: 1, type, ts: now - 2_000 + i, sessionId: `sess-${i % 3}`, id: `full-${String(i).padStart(4, '0')}`, ...extra });
    const batch = [
      ...Array.from({ length: 12 }, (_, i) => ev('symbol_selected', { symbol: i % 2 === 0 ? 'AAPL' : 'MSFT' }, i)),
      ...Array.from({ length: 5 }, (_, i) => ev('timeframe_changed', { to: '5m' }, 20 + i)),
      ev('page_view', { path: '/' }, 30),
      ev('session_start', { client: 'web', userAgent: 'test' }, 31),
      ev('page_view', { path: 'p'.repeat(600) }, 32),
      { ...ev('page_view', { path: '/' }, 33), version: 7 },
    ];
    const r = await fetch(`${server.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.viewer}` }, body: JSON.stringify({ events: batch }) });
    expect(r.status).toBe(202);
    const body = (await r.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(19);
    expect(body.rejected).toEqual([
      { index: 19, reason: 'path: path must be at most 512 characters' },
      { index: 20, reason: expect.stringMatching(/^version: version must be 1/) as unknown as string },
    ]);

    // The consumer stores them in ClickHouse: one row per accepted id, stamped with the sender.
    const stored = await until(async () => {
      const x = await rows();
      return x.length === 19 ? x : undefined;
    }, '19 rows in ClickHouse user_events', 60_000);
    expect(stored.map((x) => x.id)).toEqual(batch.slice(0, 19).map((e) => e.id).sort());
    expect(stored.every((x) => x.user === 'viewer' && x.n === '1')).toBe(true);

    // Per type and minute, from the window job; admins only.
    const stats = await until(async () => {
      const s = await fetch(`${server.url}/api/events/stats`, { headers: { authorization: `Bearer ${tokens.admin}` } });
      const b = (await s.json()) as { total: number; totals: Record<string, number>; storedIn: string; kafka: { messages: number } };
      return b.total === 19 ? b : undefined;
    }, 'the per-minute counts of the 19 events', 60_000);
    expect(stats.totals).toMatchObject({ symbol_selected: 12, timeframe_changed: 5, page_view: 1, session_start: 1, error: 0 });
    expect(stats.storedIn).toBe('kafka events → memory + clickhouse user_events');
    expect((await fetch(`${server.url}/api/events/stats`, { headers: { authorization: `Bearer ${tokens.viewer}` } })).status).toBe(403);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/tickflow_user_events_total\{type="symbol_selected"\} 12\b/);

    // The POST's rejections are in the dead-letter topic with their reason.
    await until(async () => (deadLetters.length >= 2 ? true : undefined), 'the two rejected events in events-dead-letter', 30_000);
    expect(deadLetters.map((d) => d.reason)).toEqual(['user event 19: path: path must be at most 512 characters', expect.stringMatching(/^user event 20: version: version must be 1/)]);
    expect(deadLetters.every((d) => d.origin === 'POST /api/events')).toBe(true);
    expect((JSON.parse(deadLetters[1]!.value) as { version: number }).version).toBe(7);
  });

  it('dead-letters a bad message produced straight to the topic, and keeps one row for a redelivered event', async () => {
    const before = deadLetters.length;
    await producer.send({ topic: 'events', messages: [{ key: 'x', value: JSON.stringify({ version: 1, type: 'page_view', ts: Date.now(), sessionId: 's', path: '/' }) }] });
    await until(async () => (deadLetters.length > before ? true : undefined), 'the message without id, receivedAt and user in events-dead-letter', 30_000);
    const letter = deadLetters[before]!;
    expect(letter.reason).toMatch(/id/);
    expect(letter.reason).toMatch(/receivedAt/);
    expect(letter.origin).toMatch(/^events\/\d+\/\d+$/);

    // At-least-once: the first event delivered again (a replay after a crash: the same message) and a new one.
    const stored = await rows();
    const again = { version: 1, type: 'symbol_selected', ts: now - 2_000, sessionId: 'sess-0', id: 'full-0000', symbol: 'AAPL', receivedAt: now, user: 'viewer' };
    const fresh = { ...again, id: 'full-0100' };
    await producer.send({ topic: 'events', messages: [{ key: 'sess-0', value: JSON.stringify(again) }, { key: 'sess-0', value: JSON.stringify(fresh) }] });
    const after = await until(async () => {
      const x = await rows();
      return x.length === stored.length + 1 ? x : undefined;
    }, 'the new event stored', 60_000);
    expect(after.find((x) => x.id === 'full-0000')!.n).toBe('1');
    expect(after.some((x) => x.id === 'full-0100')).toBe(true);
  });

  it('stores straight into user_events when ClickHouse is configured without Kafka', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'tickflow-uev-ch-'));
    const direct = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', jwtSecret: SECRET, dataDir: dir2, clickhouseUrl: clickhouse.url, ingestThread: 'main', symbols: 2, rate: 20 });
    try {
      const login = await fetch(`${direct.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
      const token = ((await login.json()) as { accessToken: string }).accessToken;
      const stored = await rows();
      const events = [0, 1, 2].map((i) => ({ version: 1, type: 'page_view', ts: Date.now(), sessionId: 'direct', id: `direct-${i}000`, path: `/${i}` }));
      const r = await fetch(`${direct.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(events) });
      expect(((await r.json()) as { accepted: number }).accepted).toBe(3);
      const after = await until(async () => {
        const x = await rows();
        return x.length === stored.length + 3 ? x : undefined;
      }, 'the 3 events in user_events', 30_000);
      expect(after.filter((x) => x.id.startsWith('direct-')).map((x) => x.type)).toEqual(['page_view', 'page_view', 'page_view']);
    } finally {
      await direct.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
