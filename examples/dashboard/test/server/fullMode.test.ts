import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '@tickflow/core';
import { ClickHouseStore } from '@tickflow/sinks/clickhouse';
import { TimescaleStore } from '@tickflow/sinks/timescale';
import { startClickHouse, startPostgres } from '@tickflow/test-services';
import type { ClickHouseService, PostgresService } from '@tickflow/test-services';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { sleep, until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';

describe('reference server in full mode (ClickHouse + PostgreSQL)', () => {
  let ch: ClickHouseService;
  let pg: PostgresService;
  let dir: string;
  let server: ReferenceServer;
  let token: string;
  const aggregates = async (): Promise<{ status: number; source: string | null; candles: Candle[] }> => {
    const r = await fetch(`${server.url}/api/aggregates/SYM0001/1m`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await r.json()) as { candles?: Candle[] };
    return { status: r.status, source: r.headers.get('x-data-source'), candles: body.candles ?? [] };
  };

  beforeAll(async () => {
    // Our own servers even when CLICKHOUSE_URL / DATABASE_URL are set: this test kills ClickHouse.
    [ch, pg] = await Promise.all([startClickHouse({ ownServer: true }), startPostgres({ ownServer: true })]);
    dir = mkdtempSync(join(tmpdir(), 'tickflow-full-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 3, rate: 500, seed: 3, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, clickhouseUrl: ch.url, databaseUrl: pg.url });
    const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: 'viewer' }) });
    token = ((await login.json()) as { accessToken: string }).accessToken;
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all([ch?.stop(), pg?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('writes candles to both stores and answers /api/aggregates from ClickHouse', async () => {
    expect(server.stores?.order).toEqual(['clickhouse', 'postgres', 'memory']);
    const now = Date.now();
    const reader = await ClickHouseStore.connect({ url: ch.url, log: () => {} });
    const pgReader = await TimescaleStore.connect({ url: pg.url, createSchema: false, aggregateRefresh: false, log: () => {} });
    try {
      await until(async () => ((await reader.readCandles({ symbol: 'SYM0001', timeframe: '1m', from: now - 120_000 })).length > 0 ? true : undefined), 'candles in ClickHouse');
      await until(async () => ((await pgReader.readCandles({ symbol: 'SYM0001', timeframe: '5m', from: now - 600_000, to: now + 600_000 })).length > 0 ? true : undefined), 'candles in PostgreSQL');
    } finally {
      await reader.close();
      await pgReader.close();
    }
    const r = await until(async () => {
      const a = await aggregates();
      return a.candles.length > 0 ? a : undefined;
    }, 'candles over REST');
    expect(r.status).toBe(200);
    expect(r.source).toBe('clickhouse');
    expect(r.candles[0]!.symbol).toBe('SYM0001');
    const profile = await fetch(`${server.url}/api/profile/SYM0001/1m`, { headers: { authorization: `Bearer ${token}` } });
    expect(profile.status).toBe(200);
    expect(profile.headers.get('x-data-source')).toBe('clickhouse');
    const hist = await fetch(`${server.url}/api/historical/SYM0001?limit=5`, { headers: { authorization: `Bearer ${token}` } });
    expect(hist.status).toBe(200);
    expect(hist.headers.get('x-data-source')).toBe('clickhouse');
    expect(((await hist.json()) as { trades: unknown[] }).trades).toHaveLength(5);
  }, 40_000);

  it('keeps answering while ClickHouse is down (fallback), then reads return to ClickHouse and the sinks resume', async () => {
    const chCandles = () => server.stores!.stats().stores.clickhouse!.sinks.candles!;
    await until(async () => (chCandles().rowsWritten > 0 ? true : undefined), 'ClickHouse candle writes');
    await ch.kill();
    const sources = new Set<string>();
    const statuses = new Set<number>();
    const outageEnd = Date.now() + 3_000;
    while (Date.now() < outageEnd) {
      const a = await aggregates();
      statuses.add(a.status);
      sources.add(a.source ?? 'none');
      await sleep(50); // sampling on purpose: what the API answers throughout the 3 s outage
    }
    expect([...statuses]).toEqual([200]);
    expect(sources.has('postgres')).toBe(true);
    expect([...sources].every((s) => s === 'postgres' || s === 'memory')).toBe(true);
    expect(server.stores!.stats().stores.clickhouse!.readBreakerOpens).toBeGreaterThan(0);
    const writtenDuringOutage = chCandles().rowsWritten;
    expect(chCandles().retries + chCandles().breakerOpens).toBeGreaterThan(0);

    await ch.restart();
    const back = await until(async () => {
      const a = await aggregates();
      expect(a.status).toBe(200);
      return a.source === 'clickhouse' ? a : undefined;
    }, 'reads back on ClickHouse');
    expect(back.candles.length).toBeGreaterThan(0);
    await until(async () => (chCandles().rowsWritten > writtenDuringOutage && chCandles().breaker === 'closed' ? true : undefined), 'ClickHouse sink resumed');
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { mode: string };
    expect(health.mode).toBe('full');
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { mode: string; stores: { marketData: string; audit: string } };
    expect(ready).toMatchObject({ mode: 'full', stores: { marketData: 'clickhouse → postgres → memory' } });
    expect(ready.stores.audit).toMatch(/^postgres \(journal /);
  }, 40_000);

  it('answers 503 with Retry-After when no store can answer a range the in-process store does not hold, and serves recent ranges from it', async () => {
    await Promise.all([ch.kill(), pg.stopServer()]);
    try {
      const auth = { authorization: `Bearer ${token}` };
      const all = await fetch(`${server.url}/api/aggregates/SYM0001/1m?from=0`, { headers: auth });
      expect(all.status).toBe(503);
      expect(all.headers.get('retry-after')).toBe('1');
      expect(((await all.json()) as { error: string }).error).toMatch(/no store can answer \(clickhouse breaker \w+, postgres breaker \w+\)/);
      // The newest bar is in the in-process store: asking for just that is answered from it.
      const newest = await fetch(`${server.url}/api/aggregates/SYM0001/1m?from=0&limit=1`, { headers: auth });
      expect(newest.status).toBe(200);
      expect(newest.headers.get('x-data-source')).toBe('memory');
      expect(((await newest.json()) as { candles: Candle[] }).candles).toHaveLength(1);
      // So is a range that starts after the server did (it saw every trade since).
      const recent = await fetch(`${server.url}/api/aggregates/SYM0001/1m?from=${server.store.startedAt}`, { headers: auth });
      expect(recent.status).toBe(200);
      expect(recent.headers.get('x-data-source')).toBe('memory');
      // Failed reads open the read breakers (opossum: ≥ 50 % failures in its 10 s window), visible in /metrics.
      await until(async () => {
        await fetch(`${server.url}/api/aggregates/SYM0001/1m?from=0`, { headers: auth });
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        return /tickflow_breaker_state\{store="clickhouse",path="read"\} 2/.test(metrics) && /tickflow_http_store_unavailable_total [1-9]/.test(metrics) ? true : undefined;
      }, 'the ClickHouse read breaker open in /metrics');
    } finally {
      await Promise.all([ch.restart(), pg.startServer()]);
    }
    await until(async () => {
      const a = await aggregates();
      return a.status === 200 && a.source === 'clickhouse' ? true : undefined;
    }, 'reads back on ClickHouse');
  }, 60_000);
});
