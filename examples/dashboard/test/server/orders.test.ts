import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'orders-secret-orders-secret-orders-secret';
const SYMBOL = 'SYM0001';

interface OrderBody {
  id: string;
  user: string;
  status: string;
  limitPrice?: number;
}

describe('DELETE /api/orders/:id (cancel a resting order)', () => {
  let dir: string;
  let server: ReferenceServer;
  let trader: string;
  let admin: string;

  const login = async (username: string): Promise<string> => {
    const res = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: username }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  };
  const call = (method: string, path: string, token: string | undefined, body?: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** A limit buy far below the market: it rests. */
  const rest = async (token: string): Promise<OrderBody> => {
    const price = server.store.lastPrice(SYMBOL)!;
    const res = await call('POST', '/api/orders', token, { symbol: SYMBOL, side: 'buy', type: 'limit', quantity: 1, limitPrice: Math.round(price * 50) / 100 });
    expect(res.status).toBe(201);
    const o = (await res.json()) as OrderBody;
    expect(o.status).toBe('open');
    return o;
  };
  const auditEntries = (): { type: string; user?: string; orderId?: string }[] =>
    readFileSync(join(dir, 'audit.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; user?: string; orderId?: string });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-orders-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 200, seed: 3, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, history: '0' });
    await until(async () => server.store.lastPrice(SYMBOL), 'a first trade');
    trader = await login('trader');
    admin = await login('admin');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cancels a resting order of the caller: 200 with the cancelled order, audited, gone from the open orders', async () => {
    const o = await rest(trader);
    const res = await call('DELETE', `/api/orders/${o.id}`, trader);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: o.id, user: 'trader', status: 'cancelled' });
    const list = (await (await call('GET', '/api/orders', trader)).json()) as { orders: OrderBody[] };
    expect(list.orders.find((x) => x.id === o.id)?.status).toBe('cancelled');
    // Acknowledged means durable: the journal holds the cancel when the answer arrives.
    expect(auditEntries().filter((e) => e.type === 'order_cancelled' && e.orderId === o.id)).toEqual([expect.objectContaining({ user: 'trader' })]);
  });

  it('answers 409 when the order is no longer open (cancelled twice, or filled)', async () => {
    const o = await rest(trader);
    expect((await call('DELETE', `/api/orders/${o.id}`, trader)).status).toBe(200);
    const again = await call('DELETE', `/api/orders/${o.id}`, trader);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe(`order ${o.id} is cancelled: only open limit orders can be cancelled`);
    const market = (await (await call('POST', '/api/orders', trader, { symbol: SYMBOL, side: 'buy', type: 'market', quantity: 1 })).json()) as OrderBody;
    expect(market.status).toBe('filled');
    const filled = await call('DELETE', `/api/orders/${market.id}`, trader);
    expect(filled.status).toBe(409);
    expect(((await filled.json()) as { error: string }).error).toMatch(/is filled/);
    // One cancel in the journal for the order cancelled once.
    expect(auditEntries().filter((e) => e.type === 'order_cancelled' && e.orderId === o.id)).toHaveLength(1);
  });

  it("answers 404 for an unknown order and for another user's order (which stays open)", async () => {
    const unknown = await call('DELETE', '/api/orders/o999999', trader);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/^no order o999999 of yours/);
    const theirs = await rest(admin);
    const res = await call('DELETE', `/api/orders/${theirs.id}`, trader);
    expect(res.status).toBe(404);
    const adminOrders = (await (await call('GET', '/api/orders', admin)).json()) as { orders: OrderBody[] };
    expect(adminOrders.orders.find((x) => x.id === theirs.id)?.status).toBe('open');
  });

  it('needs a trader: 401 without a token, 403 for a viewer; 400 for a malformed id', async () => {
    const o = await rest(trader);
    expect((await call('DELETE', `/api/orders/${o.id}`, undefined)).status).toBe(401);
    const viewer = await login('viewer');
    expect((await call('DELETE', `/api/orders/${o.id}`, viewer)).status).toBe(403);
    expect((await call('DELETE', `/api/orders/${'x'.repeat(40)}`, trader)).status).toBe(400);
  });

  it('is documented in the OpenAPI with its 200, 404 and 409 answers', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const op = doc.paths['/api/orders/{id}']?.delete;
    expect(op).toBeDefined();
    expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['200', '404', '409', '429']));
  });
});

describe('DELETE /api/orders/:id rate limit', () => {
  it('is rate-limited like the other order routes (429 with Retry-After)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-orders-rl-'));
    const server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 1, rate: 50, seed: 3, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, history: '0', rateLimit: 3 });
    try {
      const res = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'trader', password: 'trader' }) });
      const token = ((await res.json()) as { accessToken: string }).accessToken;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await fetch(`${server.url}/api/orders/o${900 + i}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status);
      expect(statuses).toContain(404);
      expect(statuses).toContain(429);
      expect(statuses.every((s) => s === 404 || s === 429)).toBe(true);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
