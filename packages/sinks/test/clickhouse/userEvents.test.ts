// The user_events table: on Debian's ClickHouse 18.16 (no TTL, times as
// UInt64 ms) and on a modern ClickHouse (chDB, in process: TTL and
// DateTime64). Records go in through the batching sink and come back equal;
// a record delivered twice leaves one row; an invalid record goes to the
// dead-letter output with its reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { DeadLetter, UserEventRecord } from '@tickflow/core';
import { collect } from '@tickflow/core';
import { loadChdbConnection, startClickHouse } from '@tickflow/test-services';
import type { ClickHouseService } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseUserEvents, clickHouseCapabilities } from '../../src/clickhouse/index.js';
import { clickHouseUserEventsDdl } from '../../src/clickhouse/userEvents.js';
import { testDatabase } from './marketData.js';

type ChdbConnection = NonNullable<ClickHouseClientConfigOptions['connection']> & { close(): Promise<void> };

const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;

/** One record of every type, in ts order. */
function records(): UserEventRecord[] {
  const common = (i: number) => ({ version: 1 as const, id: `evt-${String(i).padStart(8, '0')}`, ts: T0 + i * 1_000, sessionId: 'sess-1', receivedAt: T0 + i * 1_000 + 40, user: 'guest-0a1b2c3d' });
  return [
    { ...common(1), type: 'session_start', client: 'web', userAgent: 'Chromium', screen: { width: 1280, height: 800 } },
    { ...common(2), type: 'page_view', path: '/#AAPL/1m', title: 'tickflow' },
    { ...common(3), type: 'symbol_selected', symbol: 'AAPL', source: 'watchlist' },
    { ...common(4), type: 'timeframe_changed', symbol: 'AAPL', from: '1m', to: '5m' },
    { ...common(5), type: 'order_form_opened', symbol: 'AAPL', side: 'buy' },
    { ...common(6), type: 'error', message: 'boom ✗ "quoted"', stack: 'at x\nat y' },
    { ...common(7), type: 'session_end', durationMs: 6_000, reason: 'pagehide', appVersion: '0.1.0' },
  ];
}

async function count(client: ClickHouseClient, sql: string): Promise<number> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string | number }>();
  return Number(row!.n);
}

async function writeTwiceWithOneBad(table: ClickHouseUserEvents): Promise<DeadLetter[]> {
  const dead = collect<DeadLetter>();
  const sink = table.sink({ deadLetter: dead, maxBatchAge: 10 });
  const bad = { ...records()[0]!, type: 'purchase', id: 'evt-bad00001' } as unknown as UserEventRecord;
  await sink.write([...records(), bad]);
  // At-least-once delivery: the same events again.
  await sink.write(records().slice(2));
  await sink.close();
  return dead.values;
}

describe("user_events on Debian's ClickHouse 18.16", () => {
  let server: ClickHouseService;
  let client: ClickHouseClient;
  const database = testDatabase('uev');
  const logs: string[] = [];

  beforeAll(async () => {
    server = await startClickHouse({ ownServer: true });
    client = createClient({ url: server.url });
  }, 300_000);

  afterAll(async () => {
    if (client !== undefined) {
      await client.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
      await client.close();
    }
    await server?.stop();
  });

  it('creates the table without TTL, stores every type, collapses a repeat and dead-letters a bad record', async () => {
    const table = await ClickHouseUserEvents.open({ client, database, log: (m) => logs.push(m) });
    expect(table.capabilities.ttl).toBe(false);
    expect(logs[0]).toMatch(/no TTL support \(< 19\.6\)/);
    const dead = await writeTwiceWithOneBad(table);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^clickhouse:user_events: type: unknown user-event type "purchase"/);
    expect(await table.read()).toStrictEqual(records());
    expect(await table.read({ type: 'symbol_selected' })).toStrictEqual([records()[2]]);
    expect(await table.read({ from: T0 + 3_000, to: T0 + 5_000 })).toStrictEqual(records().slice(2, 4));
    expect(await count(client, `SELECT count() AS n FROM ${database}.user_events FINAL`)).toBe(7);
    // Opening again (another server start) keeps the rows.
    const again = await ClickHouseUserEvents.open({ client, database, log: () => {} });
    expect(await again.read()).toHaveLength(7);
    // The server loads the table's stored metadata again after a crash.
    await server.kill();
    await server.restart();
    expect(await again.read()).toHaveLength(7);
  }, 120_000);
});

describe('user_events on a modern ClickHouse (chDB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-chdb-uev-'));
  let client: ClickHouseClient;

  beforeAll(async () => {
    const { createChdbConnection } = await loadChdbConnection();
    client = createClient({ connection: createChdbConnection({ path: join(dir, 'db') }) as ChdbConnection });
  }, 600_000);

  afterAll(async () => {
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the table with the TTL and DateTime64 times, and stores the same records', async () => {
    const table = await ClickHouseUserEvents.open({ client, database: 'tickflow_uev', ttl: '30d', log: () => {} });
    expect(table.capabilities).toMatchObject({ ttl: true, dateTime64: true });
    const rs = await client.query({ query: 'SHOW CREATE TABLE tickflow_uev.user_events', format: 'TabSeparated' });
    const ddl = await rs.text();
    expect(ddl).toMatch(/TTL toDateTime\(ts\) \+ toIntervalDay\(30\)/);
    expect(ddl).toContain('ReplacingMergeTree');
    expect(ddl).toContain("DateTime64(3, \\'UTC\\')");
    const dead = await writeTwiceWithOneBad(table);
    expect(dead).toHaveLength(1);
    expect(await table.read()).toStrictEqual(records());
    expect(await count(client, 'SELECT count() AS n FROM tickflow_uev.user_events FINAL')).toBe(7);
  });

  it('has the default 90 day TTL, and none when disabled', () => {
    const caps = clickHouseCapabilities('24.8.1');
    expect(clickHouseUserEventsDdl(caps, 'd', 90 * 86_400_000)).toMatch(/TTL toDateTime\(ts\) \+ INTERVAL 90 DAY$/);
    expect(clickHouseUserEventsDdl(caps, 'd', undefined)).not.toContain('TTL');
  });
});
