import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '@tickflow/test-services';
import type { PostgresService } from '@tickflow/test-services';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until, untilTrading } from '../waitUntil.js';

const SECRET = 'audit-secret-audit-secret-audit-secret!';

interface JournalLine {
  id: string;
  type: string;
  user: string;
  orderId?: string;
  order?: { id: string };
}

function journal(dir: string): JournalLine[] {
  return readFileSync(join(dir, 'audit.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalLine);
}

/** A client of one server: login, orders, portfolio, audit. */
function client(server: ReferenceServer) {
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
  const get = (path: string, token: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    async login(username: string): Promise<string> {
      const r = await post('/api/auth/login', { username, password: username });
      expect(r.status).toBe(200);
      return ((await r.json()) as { accessToken: string }).accessToken;
    },
    order: (token: string, body: unknown) => post('/api/orders', body, token),
    async orders(token: string): Promise<unknown[]> {
      return ((await (await get('/api/orders', token)).json()) as { orders: unknown[] }).orders;
    },
    async portfolio(token: string): Promise<{ cash: number; positions: { symbol: string; quantity: number }[] }> {
      return (await (await get('/api/portfolio', token)).json()) as { cash: number; positions: { symbol: string; quantity: number }[] };
    },
    audit: (token: string) => get('/api/audit?limit=1000', token),
    async health(): Promise<{ audit: { store: string; shipped: number; pending: number; failedWrites: number } }> {
      return (await (await fetch(`${server.url}/healthz`)).json()) as { audit: { store: string; shipped: number; pending: number; failedWrites: number } };
    },
  };
}

describe('audit trail in PostgreSQL (DATABASE_URL)', () => {
  let pg: PostgresService;
  let sql: postgres.Sql;
  const dirs: string[] = [];
  const servers: ReferenceServer[] = [];
  const tableIds = async (): Promise<string[]> => (await sql<{ id: string }[]>`SELECT id FROM tickflow_audit ORDER BY id COLLATE "C"`).map((r) => r.id);
  const start = async (dir: string): Promise<ReferenceServer> => {
    const s = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 1000, seed: 5, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, databaseUrl: pg.url });
    servers.push(s);
    await untilTrading(s);
    return s;
  };
  const freshDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tickflow-audit-pg-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    // Our own server even when DATABASE_URL is set: this test stops and restarts it.
    pg = await startPostgres({ ownServer: true });
    sql = postgres(pg.url, { max: 1, onnotice: () => undefined, backoff: () => 0 });
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    await sql?.end({ timeout: 1 });
    await pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('ships orders to tickflow_audit, restores them on a fresh data dir, and catches up after an outage', async () => {
    // 1. A server with DATABASE_URL: orders, fills and logins reach the table.
    const dirA = freshDir();
    const a = await start(dirA);
    const ca = client(a);
    const traderA = await ca.login('trader');
    const buy = await ca.order(traderA, { symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 3 });
    expect(buy.status).toBe(201);
    const limit = await ca.order(traderA, { symbol: 'SYM0001', side: 'buy', type: 'limit', quantity: 1, limitPrice: 0.01 });
    expect(limit.status).toBe(201);
    const ordersBefore = await ca.orders(traderA);
    const portfolioBefore = await ca.portfolio(traderA);
    expect(portfolioBefore.positions).toMatchObject([{ symbol: 'SYM0001', quantity: 3 }]);
    const journalA = journal(dirA);
    expect(journalA.map((e) => e.type)).toEqual(['login', 'order', 'fill', 'order']);
    await until(async () => ((await tableIds()).length === journalA.length ? true : undefined), 'entries in tickflow_audit');
    const rows = await sql<{ id: string; type: string; username: string; entry: JournalLine }[]>`SELECT id, type, username, entry FROM tickflow_audit ORDER BY id COLLATE "C"`;
    expect(rows.map((r) => r.id)).toEqual(journalA.map((e) => e.id));
    expect(rows.map((r) => [r.type, r.username])).toEqual(journalA.map((e) => [e.type, e.user]));
    expect(rows[1]!.entry.order!.id).toBe('o1');
    // GET /api/audit reads PostgreSQL.
    const adminA = await ca.login('admin');
    const auditA = await ca.audit(adminA);
    expect(auditA.headers.get('x-data-source')).toBe('postgres');
    expect(((await auditA.json()) as { entries: JournalLine[] }).entries.filter((e) => e.type === 'order')).toHaveLength(2);
    await a.close();

    // 2. A new node on a fresh data dir restores the same orders and portfolio from PostgreSQL.
    const dirB = freshDir();
    const b = await start(dirB);
    const cb = client(b);
    const traderB = await cb.login('trader');
    expect(await cb.orders(traderB)).toEqual(ordersBefore);
    const portfolioB = await cb.portfolio(traderB);
    expect(portfolioB.cash).toBe(portfolioBefore.cash);
    expect(portfolioB.positions).toMatchObject([{ symbol: 'SYM0001', quantity: 3 }]);
    // The table's entries were copied into the new journal.
    expect(journal(dirB).map((e) => e.id).slice(0, journal(dirA).length)).toEqual(journal(dirA).map((e) => e.id));

    // 3. PostgreSQL down: orders are still accepted (journal first) and GET /api/audit answers from memory.
    await pg.stopServer();
    const sell = await cb.order(traderB, { symbol: 'SYM0001', side: 'sell', type: 'market', quantity: 1 });
    expect(sell.status).toBe(201);
    const sellId = ((await sell.json()) as { id: string }).id;
    expect(sellId).toBe('o3');
    const sellEntry = journal(dirB).find((e) => e.type === 'order' && e.order?.id === sellId)!;
    expect(sellEntry).toBeDefined();
    const adminB = await cb.login('admin');
    const auditDown = await cb.audit(adminB);
    expect(auditDown.status).toBe(200);
    expect(auditDown.headers.get('x-data-source')).toBe('memory');
    expect(auditDown.headers.get('x-audit-fallback')).toBe('postgres-unavailable');
    expect(((await auditDown.json()) as { entries: JournalLine[] }).entries.map((e) => e.id)).toContain(sellEntry.id);
    const downHealth = await cb.health();
    expect(downHealth.audit.store).toBe('postgres');
    expect(downHealth.audit.pending).toBeGreaterThan(0);

    // 4. PostgreSQL back: the pending entries reach the table, each id once.
    await pg.startServer();
    await until(async () => ((await tableIds().catch((): string[] => [])).includes(sellEntry.id) ? true : undefined), 'the order placed during the outage in tickflow_audit');
    await until(async () => ((await cb.health()).audit.pending === 0 ? true : undefined), 'nothing pending');
    const upHealth = await cb.health();
    expect(upHealth.audit.failedWrites).toBeGreaterThan(0);
    const ids = await tableIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...new Set([...journal(dirA), ...journal(dirB)].map((e) => e.id))].sort());

    // 5. Shut down while PostgreSQL is down: the entry stays in the journal and is shipped at the next start.
    await pg.stopServer();
    const lateLogin = await cb.login('trader');
    expect(lateLogin).toBeTruthy();
    const lateEntry = journal(dirB).at(-1)!;
    expect(lateEntry.type).toBe('login');
    await b.close();
    await pg.startServer();
    expect(await tableIds()).not.toContain(lateEntry.id);
    const c = await start(dirB);
    await until(async () => ((await tableIds()).includes(lateEntry.id) ? true : undefined), 'the entry journaled during shutdown in tickflow_audit');
    const final = await tableIds();
    expect(final).toEqual([...new Set([...journal(dirA), ...journal(dirB)].map((e) => e.id))].sort());
    const cc = client(c);
    const traderC = await cc.login('trader');
    expect((await cc.portfolio(traderC)).positions).toMatchObject([{ symbol: 'SYM0001', quantity: 2 }]);
  }, 120_000);
});
