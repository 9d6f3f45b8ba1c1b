// User events in embedded mode: POST /api/events validates each event
// (rejections with index and reason, to the dead-letter output), keeps the
// valid ones in the in-process ring, and the window job's per-type,
// per-minute counts reach GET /api/events/stats (admins only) and /metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { USER_EVENT_TYPES } from '@tickflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'test-secret-test-secret-test-secret!';

interface Stats {
  window: string;
  storedIn: string;
  minutes: { start: number; end: number; counts: Record<string, number>; total: number }[];
  totals: Record<string, number>;
  total: number;
  deadLetters: number;
  recentDeadLetters: { reason: string; origin: string }[];
  ring: { size: number; capacity: number };
  recent?: { id: string; type: string; user: string; receivedAt: number }[];
}

describe('user events, embedded mode', () => {
  let server: ReferenceServer;
  let dir: string;
  const tokens: Record<string, string> = {};

  const post = (body: unknown, token: string | undefined = tokens.viewer) =>
    fetch(`${server.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
  const stats = async (token = tokens.admin!, query = ''): Promise<{ status: number; body: Stats }> => {
    const r = await fetch(`${server.url}/api/events/stats${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as Stats };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-uev-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 50, history: '0', logLevel: 'silent', jwtSecret: SECRET, dataDir: dir });
    for (const u of ['viewer', 'admin']) {
      const r = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: u }) });
      tokens[u] = ((await r.json()) as { accessToken: string }).accessToken;
    }
    const g = await fetch(`${server.url}/api/auth/guest`, { method: 'POST' });
    tokens.guest = ((await g.json()) as { accessToken: string }).accessToken;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts valid events, reports each bad one with its index and reason, and counts per type and minute', async () => {
    const now = Date.now();
    const ev = (type: string, extra: Record<string, unknown>, i: number) => ({ version: 1, type, ts: now - 1_000 + i, sessionId: 'sess-embedded', ...extra });
    const batch = [
      ev('page_view', { path: '/' }, 0),
      ev('symbol_selected', { symbol: 'AAPL', source: 'watchlist' }, 1),
      ev('symbol_selected', { symbol: 'MSFT', source: 'search' }, 2),
      { ...ev('symbol_selected', { symbol: 'X' }, 3), version: 2 },
      ev('timeframe_changed', { symbol: 'AAPL', to: '5m' }, 4),
      ev('purchase', {}, 5),
      ev('error', { message: 'x'.repeat(2_000) }, 6),
      ev('session_start', { client: 'web' }, 7),
      { ...ev('page_view', { path: '/' }, 8), ts: now - 30 * 86_400_000 },
      ev('order_form_opened', { symbol: 'AAPL', side: 'buy', id: 'client-id-0001' }, 9),
    ];
    const r = await post(batch);
    expect(r.status).toBe(202);
    const body = (await r.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(6);
    expect(body.rejected.map((x) => x.index)).toEqual([3, 5, 6, 8]);
    expect(body.rejected[0]!.reason).toMatch(/^version: version must be 1/);
    expect(body.rejected[1]!.reason).toMatch(/^type: unknown user-event type "purchase"/);
    expect(body.rejected[2]!.reason).toBe('message: message must be at most 1000 characters');
    expect(body.rejected[3]!.reason).toMatch(/^ts: .* is more than 7 days before the server's time/);
    // A guest (viewer token) may send events too.
    expect((await post([ev('page_view', { path: '/#AAPL/1m' }, 10)], tokens.guest)).status).toBe(202);

    const s = await until(async () => {
      const x = await stats();
      return x.body.total === 7 ? x : undefined;
    }, 'the window job counting the 7 accepted events');
    expect(s.status).toBe(200);
    expect(s.body.window).toBe('1m');
    expect(s.body.storedIn).toBe('memory');
    expect(s.body.totals).toEqual({ page_view: 2, symbol_selected: 2, timeframe_changed: 1, order_form_opened: 1, error: 0, session_start: 1, session_end: 0 });
    expect(Object.keys(s.body.totals).sort()).toEqual([...USER_EVENT_TYPES].sort());
    for (const m of s.body.minutes) {
      expect(m.end - m.start).toBe(60_000);
      expect(m.start % 60_000).toBe(0);
      expect(m.total).toBe(Object.values(m.counts).reduce((a, b) => a + b, 0));
    }
    expect(s.body.minutes.reduce((a, m) => a + m.total, 0)).toBe(7);
    expect(s.body.deadLetters).toBe(4);
    expect(s.body.recentDeadLetters.map((d) => d.reason)).toContain(`user event 5: ${body.rejected[1]!.reason}`);
    expect(s.body.recentDeadLetters.every((d) => d.origin === 'POST /api/events')).toBe(true);
    expect(s.body.ring.size).toBe(7);

    // The ring keeps them with the server's stamps; a client id is kept.
    const withRecent = await stats(tokens.admin, '?recent=10');
    const recent = withRecent.body.recent!;
    expect(recent).toHaveLength(7);
    expect(recent.find((e) => e.type === 'order_form_opened')!.id).toBe('client-id-0001');
    expect(new Set(recent.map((e) => e.id)).size).toBe(7);
    expect(recent.filter((e) => e.user === 'viewer')).toHaveLength(6);
    expect(recent[0]!.user).toMatch(/^guest-/);

    const metrics = await until(async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return /tickflow_user_events_total\{type="symbol_selected"\} 2\b/.test(text) ? text : undefined;
    }, 'the per-type counter');
    expect(metrics).toMatch(/tickflow_user_events_total\{type="page_view"\} 2\b/);
    expect(metrics).toMatch(/tickflow_user_events_total\{type="session_end"\} 0\b/);
    expect(metrics).toMatch(/tickflow_user_events_rejected_total 4\b/);
  });

  it('lets only admins read the stats and only signed-in users send events', async () => {
    expect((await stats(tokens.viewer)).status).toBe(403);
    expect((await stats(tokens.guest)).status).toBe(403);
    expect((await fetch(`${server.url}/api/events/stats`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' })).status).toBe(401);
  });

  it('answers 400 for a body that is not a batch, an empty one or one over the cap', async () => {
    const bad = async (body: unknown, re: RegExp) => {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(re);
    };
    await bad({ nope: 1 }, /^invalid body: events: /);
    await bad([], /send at least one event/);
    await bad(Array.from({ length: 101 }, () => ({ version: 1 })), /at most 100 events per request/);
    await bad('page_view', /the body must be an array of user events/);
    expect((await stats(tokens.admin, '?minutes=0')).status).toBe(400);
  });
});
