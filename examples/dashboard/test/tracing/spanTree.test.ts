import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@tickflow/ws-server/client';
import { startKafka, startPostgres } from '@tickflow/test-services';
import type { KafkaService, PostgresService } from '@tickflow/test-services';
import { until } from '../waitUntil.js';
import { builtCli, bundleChild, runChild, startLongChild } from './childScripts.js';
import type { LongChild } from './childScripts.js';
import type { OtlpReceiver } from './otlpReceiver.js';
import { startOtlpReceiver } from './otlpReceiver.js';

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

describe('tracing: one trade from tickflow produce to the store, HTTP requests and WebSocket subscribes (OTLP/HTTP JSON)', () => {
  let kafka: KafkaService;
  let pg: PostgresService;
  let receiver: OtlpReceiver;
  let server: LongChild;
  let url: string;
  let dir: string;
  const logLines = (): Record<string, unknown>[] => server.lines().map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    [kafka, pg, receiver] = await Promise.all([startKafka({ topics: [{ name: 'trades', partitions: 1 }, { name: 'quotes', partitions: 1 }, { name: 'trades-dead-letter', partitions: 1 }, { name: 'wtrades', partitions: 1 }, { name: 'wquotes', partitions: 1 }, { name: 'wtrades-dead-letter', partitions: 1 }], ownServer: true }), startPostgres(), startOtlpReceiver()]);
    dir = mkdtempSync(join(tmpdir(), 'tickflow-tracing-'));
    // The server in a process of its own (the Node a user runs, not the test runner's module resolution), ingest on
    // its main thread, spans exported every 100 ms, JSON log lines on stdout.
    const started = await startLongChild(await bundleChild('serverChild'), {
      OTEL_BSP_SCHEDULE_DELAY: '100',
      SERVER_CONFIG: JSON.stringify({ port: 0, host: '127.0.0.1', logLevel: 'debug', jwtSecret: 'tracing-secret-tracing-secret-tracing!', dataDir: dir, kafkaBrokers: kafka.brokers.join(','), kafkaGroup: `tracing-${Date.now()}`, databaseUrl: pg.url, ingestThread: 'main', otlpEndpoint: receiver.url }),
    });
    server = started.child;
    url = started.ready;
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    await Promise.all([kafka?.stop(), pg?.stop(), receiver?.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('follows one trade: produce span → Kafka batch consume span (from the message headers) → windows → sink writes into PostgreSQL, one trace id', async () => {
    const input = join(dir, 'one-trade.ndjson');
    const ts = Date.now();
    writeFileSync(input, `${JSON.stringify({ symbol: 'TRACE', ts, price: 101.25, size: 7, side: 'buy', id: 'trace-1' })}\n`);
    const script = await bundleChild('produceChild');
    const { out } = await runChild(script, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      PRODUCE_OPTIONS: JSON.stringify({ brokers: kafka.brokers, topic: 'trades', quotesTopic: undefined, format: 'json', input, count: 1, symbols: 1, seed: 1, rate: undefined }),
    });
    expect((JSON.parse(out.trim()) as { trades: number }).trades).toBe(1);

    const publish = await until(async () => receiver.spans.find((s) => s.name === 'trades publish'), 'the produce span');
    expect(publish.service).toBe('tickflow-produce');
    expect(publish.kind).toBe(PRODUCER);
    expect(publish.parentSpanId).toBe('');

    const tree = await until(async () => {
      const consume = receiver.spans.find((s) => s.name === 'trades process' && s.traceId === publish.traceId);
      const windows = consume && receiver.spans.find((s) => s.name === 'tickflow windows' && s.parentSpanId === consume.spanId);
      const writes = windows && receiver.spans.filter((s) => s.name.startsWith('sink write') && s.parentSpanId === windows.spanId);
      return writes !== undefined && writes.some((w) => w.name === 'sink write timescale:trades') && writes.some((w) => w.name === 'sink write timescale:ohlc') ? { consume: consume!, windows: windows!, writes } : undefined;
    }, 'the consume → windows → sink write spans of the trade').catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; spans: ${JSON.stringify(receiver.spans.map((x) => [x.service, x.name, x.traceId.slice(0, 6), x.spanId, x.parentSpanId]))}`);
    });

    expect(tree.consume.parentSpanId).toBe(publish.spanId);
    expect(tree.consume.kind).toBe(CONSUMER);
    expect(tree.consume.service).toBe('tickflow-serve');
    expect(tree.consume.attributes['messaging.destination.name']).toBe('trades');
    expect(tree.consume.attributes['tickflow.events']).toBe(1);
    expect(tree.windows.attributes['tickflow.jobs']).toBe('ingest,candles,profiles,ticks');
    for (const w of tree.writes) {
      expect(w.traceId).toBe(publish.traceId);
      expect(w.attributes['tickflow.rows']).toBeGreaterThanOrEqual(1);
    }
    // The trade is in PostgreSQL: the write the span stands for happened.
    const token = ((await (await fetch(`${url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string }).accessToken;
    const trades = await until(async () => {
      const r = await fetch(`${url}/api/historical/TRACE?from=${ts - 1000}&to=${ts + 1000}`, { headers: { authorization: `Bearer ${token}` } });
      const b = (await r.json()) as { trades?: { price: number }[] };
      return r.status === 200 && b.trades !== undefined && b.trades.length === 1 ? { b, source: r.headers.get('x-data-source') } : undefined;
    }, 'the trade read back from PostgreSQL');
    expect(trades.source).toBe('postgres');
    expect(trades.b.trades![0]!.price).toBe(101.25);
  }, 120_000);

  it('makes one SERVER span per HTTP request (continuing the caller’s traceparent) and its log lines carry trace_id and span_id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await fetch(`${url}/api/symbols`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(r.status).toBe(200);
    const span = await until(async () => receiver.spans.find((s) => s.name === 'GET /api/symbols' && s.traceId === traceId), 'the request span');
    expect(span.kind).toBe(SERVER);
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(span.attributes['http.route']).toBe('/api/symbols');
    expect(span.attributes['http.response.status_code']).toBe(200);
    // The request's debug line (referenceServer.ts, onResponse) was written inside the span.
    const line = logLines().find((l) => l.msg === 'request' && l.url === '/api/symbols' && l.trace_id === traceId);
    expect(line?.span_id).toBe(span.spanId);
  }, 30_000);

  it('makes one span per WebSocket subscribe, with the channel and the decision', async () => {
    const guest = (await (await fetch(`${url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string };
    const ws = createClient({ url: `${url.replace('http', 'ws')}/ws`, token: guest.accessToken, WebSocket: WebSocket as never, reconnect: false, pingInterval: 60_000 });
    try {
      ws.subscribe('candles:TRACE:1m', () => {});
      const span = await until(async () => receiver.spans.find((s) => s.name === 'ws subscribe' && s.attributes['tickflow.ws.channel'] === 'candles:TRACE:1m'), 'the subscribe span');
      expect(span.kind).toBe(SERVER);
      expect(span.attributes['tickflow.ws.granted']).toBe(true);
      expect(String(span.attributes['tickflow.ws.subject'])).toMatch(/^guest-/);
      expect(typeof span.attributes['tickflow.ws.connection']).toBe('string');
    } finally {
      ws.close();
    }
    expect(receiver.refused).toEqual([]);
  }, 30_000);
  it('traces the ingest worker thread of the built server too (its own tracer provider)', async () => {
    // `tickflow serve` from the build: ingest, windows and store writes run in the worker thread (auto).
    const wdir = mkdtempSync(join(tmpdir(), 'tickflow-tracing-worker-'));
    const started = await startLongChild(builtCli(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', KAFKA_BROKERS: kafka.brokers.join(','), KAFKA_GROUP: `tracing-worker-${Date.now()}`, KAFKA_TRADES_TOPIC: 'wtrades', KAFKA_QUOTES_TOPIC: 'wquotes', DATABASE_URL: pg.url, JWT_SECRET: 'tracing-secret-tracing-secret-tracing!', TICKFLOW_DATA_DIR: wdir, LOG_LEVEL: 'warn' }, { args: ['serve', '--port', '0'], ready: /live dashboard on (http:\S+)/ });
    try {
      const health = (await (await fetch(`${started.ready}/healthz`)).json()) as { ingestThread?: string };
      expect(health.ingestThread).toBe('worker');
      const input = join(wdir, 'one-trade.ndjson');
      writeFileSync(input, `${JSON.stringify({ symbol: 'WTRACE', ts: Date.now(), price: 55.5, size: 3, id: 'w-1' })}\n`);
      await runChild(await bundleChild('produceChild'), {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        PRODUCE_OPTIONS: JSON.stringify({ brokers: kafka.brokers, topic: 'wtrades', quotesTopic: undefined, format: 'json', input, count: 1, symbols: 1, seed: 1, rate: undefined }),
      });
      const publish = await until(async () => receiver.spans.find((s) => s.name === 'wtrades publish'), 'the produce span');
      const write = await until(async () => {
        const consume = receiver.spans.find((s) => s.name === 'wtrades process' && s.parentSpanId === publish.spanId);
        const windows = consume && receiver.spans.find((s) => s.name === 'tickflow windows' && s.parentSpanId === consume.spanId);
        return windows && receiver.spans.find((s) => s.name === 'sink write timescale:trades' && s.parentSpanId === windows.spanId);
      }, 'the worker’s consume → windows → sink write spans');
      expect(write.traceId).toBe(publish.traceId);
      expect(write.service).toBe('tickflow-serve');
    } finally {
      await started.child.stop();
      rmSync(wdir, { recursive: true, force: true });
    }
  }, 120_000);
});
