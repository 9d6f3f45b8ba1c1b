// The private order and portfolio channels of the reference server (user:orders, user:portfolio):
// real HTTP and real WebSockets against a started server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from '@tickflow/ws-server/client';
import type { TickflowClient } from '@tickflow/ws-server/client';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'orders-channel-secret-orders-channel-secret';
const SYMBOL = 'SYM0001';

interface OrderRow {
  id: string;
  user: string;
  status: string;
}

describe('private order and portfolio channels', () => {
  let dir: string;
  let server: ReferenceServer;
  const clients: TickflowClient[] = [];

  const token = async (path: string, body?: unknown): Promise<string> => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  };
  const login = (username: string) => token('/api/auth/login', { username, password: username });
  const connect = (accessToken: string): TickflowClient => {
    const c = createClient({ url: `${server.url.replace('http', 'ws')}/ws`, token: accessToken, WebSocket: WebSocket as never, batchInterval: 20, reconnect: false });
    clients.push(c);
    return c;
  };
  const order = async (accessToken: string, body: Record<string, unknown>): Promise<OrderRow> => {
    const res = await fetch(`${server.url}/api/orders`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ symbol: SYMBOL, quantity: 1, ...body }) });
    expect(res.status).toBe(201);
    return (await res.json()) as OrderRow;
  };
  const limitBelow = (): number => Math.round(server.store.lastPrice(SYMBOL)! * 50) / 100;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-orders-ws-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 200, seed: 4, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, history: '0' });
    await until(async () => server.store.lastPrice(SYMBOL), 'a first trade');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams the caller's order changes and portfolio, and nothing of another user's", async () => {
    const trader = await login('trader');
    const admin = await login('admin');
    const mine = connect(trader);
    const theirs = connect(admin);
    const seenByTrader: OrderRow[] = [];
    const seenByAdmin: OrderRow[] = [];
    mine.subscribe('user:orders', (u) => seenByTrader.push(...(u.changed as unknown as OrderRow[])));
    mine.subscribe('user:portfolio');
    theirs.subscribe('user:orders', (u) => seenByAdmin.push(...(u.changed as unknown as OrderRow[])));
    await until(async () => (mine.synced && theirs.synced && mine.status === 'open' && theirs.status === 'open' ? true : undefined), 'both subscribed');

    const resting = await order(trader, { side: 'buy', type: 'limit', limitPrice: limitBelow() });
    await until(async () => seenByTrader.find((o) => o.id === resting.id && o.status === 'open'), 'the resting order on the channel');
    const cancel = await fetch(`${server.url}/api/orders/${resting.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${trader}` } });
    expect(cancel.status).toBe(200);
    await until(async () => mine.rows('user:orders')?.find((o) => o.id === resting.id && o.status === 'cancelled'), 'the cancel on the channel');
    const filled = await order(trader, { side: 'buy', type: 'market' });
    await until(async () => mine.rows('user:orders')?.find((o) => o.id === filled.id && o.status === 'filled'), 'the fill on the channel');
    await until(async () => mine.rows('user:portfolio')?.find((p) => p.id === 'portfolio' && (p.positions as { symbol: string }[]).some((x) => x.symbol === SYMBOL)), 'the position on the channel');

    // The admin's own order arrives after every trader update was published: had any leaked, it would be here by now.
    const adminOrder = await order(admin, { side: 'buy', type: 'limit', limitPrice: limitBelow() });
    await until(async () => seenByAdmin.find((o) => o.id === adminOrder.id), "the admin's own order");
    expect(seenByAdmin.every((o) => o.user === 'admin')).toBe(true);
    expect(seenByAdmin.map((o) => o.id)).not.toContain(resting.id);
    expect(seenByTrader.every((o) => o.user === 'trader')).toBe(true);
    expect(mine.rows('user:orders')!.map((o) => o.id)).not.toContain(adminOrder.id);
  });

  it("refuses a guest who names someone else's channel, and gives a guest only its own (empty) channel", async () => {
    const trader = await login('trader');
    await order(trader, { side: 'buy', type: 'limit', limitPrice: limitBelow() });
    const guestToken = await token('/api/auth/guest');
    // The SDK refuses such names before sending; the server refuses them on its own for any client.
    const guest = connect(guestToken);
    expect(() => guest.subscribe('user:orders:trader')).toThrow(/bad private channel/);
    const raw = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${guestToken}`, ['tickflow.v1.json']);
    const messages: { type: string; code?: string; channel?: string; rows?: unknown[] }[] = [];
    raw.on('message', (d) => messages.push(...(JSON.parse(String(d)) as typeof messages)));
    await new Promise<void>((resolve, reject) => {
      raw.once('open', () => resolve());
      raw.once('error', reject);
    });
    raw.send(JSON.stringify({ type: 'subscribe', channels: ['user:orders:trader', 'user:trader:orders', 'user:orders\u0000trader', 'user:orders'] }));
    await until(async () => messages.find((m) => m.type === 'snapshot' && m.channel === 'user:orders'), "the guest's own channel");
    raw.close();
    expect(messages.filter((m) => m.type === 'error').map((m) => [m.channel, m.code])).toEqual([
      ['user:orders:trader', 'UNKNOWN_CHANNEL'],
      ['user:trader:orders', 'UNKNOWN_CHANNEL'],
      ['user:orders\u0000trader', 'UNKNOWN_CHANNEL'],
    ]);
    expect(messages.find((m) => m.type === 'snapshot' && m.channel === 'user:orders')!.rows).toEqual([]);
    expect(messages.filter((m) => m.type === 'snapshot' || m.type === 'delta')).toHaveLength(1);
  });
});
