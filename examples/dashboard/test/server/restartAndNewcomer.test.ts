import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Candle } from '@tickflow/core';
import { createClient } from '@tickflow/ws-server/client';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until, untilTrading } from '../waitUntil.js';

const SECRET = 'restart-secret-restart-secret-restart!';

async function json<T>(r: Promise<Response>): Promise<T> {
  return (await (await r).json()) as T;
}

describe('restart', () => {
  it('keeps orders, positions and the audit trail across a restart on the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-restart-'));
    const opts = { port: 0, host: '127.0.0.1', symbols: 2, rate: 2000, seed: 3, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir } as const;
    try {
      let server = await startReferenceServer(opts);
      const login = async () =>
        (await json<{ accessToken: string }>(fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"trader","password":"trader"}' }))).accessToken;
      let token = await login();
      const auth = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      await untilTrading(server);
      const filled = await fetch(`${server.url}/api/orders`, { method: 'POST', headers: auth(), body: JSON.stringify({ symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 3 }) });
      expect(filled.status).toBe(201);
      await fetch(`${server.url}/api/orders`, { method: 'POST', headers: auth(), body: JSON.stringify({ symbol: 'SYM0001', side: 'buy', type: 'limit', quantity: 1, limitPrice: 0.01 }) });
      const before = await json<{ orders: unknown[] }>(fetch(`${server.url}/api/orders`, { headers: auth() }));
      const pfBefore = await json<{ cash: number; positions: unknown[] }>(fetch(`${server.url}/api/portfolio`, { headers: auth() }));
      await server.close();

      server = await startReferenceServer(opts);
      token = await login();
      const after = await json<{ orders: unknown[] }>(fetch(`${server.url}/api/orders`, { headers: auth() }));
      expect(after.orders).toEqual(before.orders);
      const pfAfter = await json<{ cash: number; positions: { quantity: number }[] }>(fetch(`${server.url}/api/portfolio`, { headers: auth() }));
      expect(pfAfter.cash).toBe(pfBefore.cash);
      expect(pfAfter.positions[0]!.quantity).toBe(3);
      // New orders continue the id sequence.
      const next = await json<{ id: string }>(fetch(`${server.url}/api/orders`, { method: 'POST', headers: auth(), body: JSON.stringify({ symbol: 'SYM0001', side: 'sell', type: 'market', quantity: 1 }) }));
      expect(next.id).toBe('o3');
      await server.close();
      const types = readFileSync(join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
      expect(types).toEqual(['login', 'order', 'fill', 'order', 'login', 'order', 'fill']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a newcomer's first run", () => {
  it('the built CLI serves a newcomer candles over REST and WebSocket', { timeout: 90_000 }, async () => {
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    expect(existsSync(cli), `${cli} is missing: run npx turbo run build --filter=@tickflow/dashboard... first`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-newcomer-'));
    const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--rate', '1000', '--symbols', '3', '--log-level', 'warn', '--data-dir', dir], {
      env: { ...process.env, JWT_SECRET: '', PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await until(async () => /live dashboard on (http:\/\/[\d.:]+)/.exec(out)?.[1], 'the server to print its address', 30_000).catch((e: unknown) => {
        throw new Error(`${String(e)}; output: ${out}`);
      });
      expect(out).toMatch(/JWT_SECRET is not set: using a generated development secret/);
      const symbols = await until(async () => {
        const l = await json<Candle[]>(fetch(`${url}/api/symbols`));
        return l.length > 0 ? l : undefined;
      }, 'the symbols', 30_000);
      expect(symbols[0]).toMatchObject({ symbol: 'SYM0001', timeframe: '1m' });
      const { accessToken } = await json<{ accessToken: string }>(fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"viewer","password":"viewer"}' }));
      const agg = await json<{ candles: Candle[] }>(fetch(`${url}/api/aggregates/SYM0001/1m`, { headers: { authorization: `Bearer ${accessToken}` } }));
      expect(agg.candles.length).toBeGreaterThan(0);

      // WebSocket: no token is refused at the upgrade; with one, candles arrive.
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${url!.replace('http', 'ws')}/ws`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
      expect(refused).toBe(401);
      const client = createClient({ url: `${url!.replace('http', 'ws')}/ws`, token: accessToken, WebSocket: WebSocket as never, reconnect: false });
      try {
        const candle = await new Promise<Candle>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no candle over WebSocket')), 20_000);
          client.subscribe('candles:SYM0001:1m', (u) => {
            if (u.rows.length > 0) {
              clearTimeout(timer);
              resolve(u.rows[u.rows.length - 1] as Candle);
            }
          });
        });
        expect(candle).toMatchObject({ symbol: 'SYM0001', timeframe: '1m' });
      } finally {
        client.close();
      }
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/shutting down/);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
