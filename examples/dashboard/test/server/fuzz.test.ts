// Fuzzing the reference server as a guest would: arbitrary WebSocket frames and message sequences, arbitrary REST
// bodies and queries. The process stays up, memory stays bounded, no answer is a 500, and other clients keep receiving.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from '@tickflow/ws-server/client';
import type { TickerRow } from '@tickflow/ws-server/client';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { untilTrading } from '../waitUntil.js';
import { eventually } from '@tickflow/test-services/eventually';

const untilTrue = (check: () => boolean, what: string): Promise<true> => eventually(what, check, { timeoutMs: 5_000, intervalMs: 50 });

const SECRET = 'fuzz-secret-fuzz-secret-fuzz-secret-fuzz!';
const json = { 'content-type': 'application/json' };
let s: ReferenceServer;
let dir: string;
let guestToken: string;
let traderToken: string;
let addr = 0;
/** A new client address per connection or request (X-Forwarded-For from loopback is trusted): the per-address limits stay out of the way. */
const nextAddress = () => `10.${(++addr >> 16) & 255}.${(addr >> 8) & 255}.${addr & 255}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tickflow-fuzz-'));
  s = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 3, rate: 500, seed: 9, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, rateLimit: 100_000, wsMaxPerUser: 10_000 });
  guestToken = ((await (await fetch(`${s.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string }).accessToken;
  // (No logout and no real refresh token in the fuzzed requests: they would end these sessions and leave only 401s to fuzz.)
  traderToken = ((await (await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: json, body: '{"username":"trader","password":"trader"}' })).json()) as { accessToken: string }).accessToken;
  await untilTrading(s);
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A watching SDK client (MessagePack, the default): counts ticker batches. */
function watcher(): { batches: () => number; close: () => void } {
  let batches = 0;
  const c = createClient({ url: `${s.url.replace('http', 'ws')}/ws`, token: guestToken, WebSocket: WebSocket as never, reconnect: false });
  c.subscribe('ticker', (u) => {
    if ((u.rows as readonly TickerRow[]).length > 0) batches++;
  });
  return { batches: () => batches, close: () => c.close() };
}

const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

describe('fuzz', () => {
  it('WebSocket: arbitrary frames and message sequences from guests; a MessagePack SDK client keeps receiving and a new one still subscribes', async () => {
    const w = watcher();
    const packr = new Packr({ useRecords: false });
    const channel = fc.oneof(fc.constantFrom('ticker', 'trades:SYM0001', 'candles:SYM0001:1m', 'profile:SYM0001:1m', 'quotes:SYM0002'), fc.string({ maxLength: 140 }));
    const message = fc.oneof(
      fc.record({ type: fc.constant('subscribe'), channels: fc.array(channel, { minLength: 1, maxLength: 300 }), id: fc.option(fc.integer(), { nil: undefined }) }),
      fc.record({ type: fc.constant('unsubscribe'), channels: fc.array(channel, { minLength: 1, maxLength: 50 }) }),
      fc.record({ type: fc.constant('resync'), channel }),
      fc.record({ type: fc.constant('ping'), id: fc.integer(), ts: fc.double() }),
      fc.record({ type: fc.string({ maxLength: 10 }), channels: fc.anything({ maxDepth: 3 }) }, { requiredKeys: ['type'] }),
    );
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 2_048 }).map((b) => ({ binary: true, data: Buffer.from(b) })),
      // msgpackr record definitions (ext 0x72) with arbitrary ids and bodies: the attack of issue 13 item 1.
      fc.tuple(fc.integer({ min: 0x40, max: 0x7f }), fc.uint8Array({ maxLength: 64 })).map(([id, body]) => ({ binary: true, data: Buffer.concat([Buffer.from([0xd4, 0x72, id]), Buffer.from(body)]) })),
      fc.string({ maxLength: 512 }).map((x) => ({ binary: false, data: Buffer.from(x) })),
      message.map((m) => ({ binary: true, data: packr.pack(m) })),
      message.map((m) => ({ binary: false, data: Buffer.from(JSON.stringify(m)) })),
    );
    const before = heapMb();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), fc.boolean(), async (frames, json) => {
        runs++;
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?token=${guestToken}`, json ? ['tickflow.v1.json'] : ['tickflow.v1.msgpack'], { headers: { 'x-forwarded-for': nextAddress() } });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        for (const f of frames) ws.send(f.data, { binary: f.binary });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 20);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
        ws.terminate();
      }),
      { numRuns: 150 },
    );
    const after = heapMb();
    const seen = w.batches();
    await untilTrue(() => w.batches() > seen, 'the watcher still receiving after everything');
    w.close();
    // A new MessagePack SDK client subscribes and gets data (no decoder state left behind by any frame).
    const fresh = watcher();
    await untilTrue(() => fresh.batches() > 0, 'a batch for a new client');
    fresh.close();
    expect(runs).toBe(150);
    console.log(`ws fuzz: 150 runs, heap ${before.toFixed(0)} → ${after.toFixed(0)} MB`);
    expect(after - before).toBeLessThan(150);
  }, 120_000);

  it('REST: arbitrary bodies, queries and paths never give a 500, and the server keeps answering', async () => {
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ maxLength: 2_000 }),
      fc.integer({ min: 1, max: 5_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.record({ symbol: fc.oneof(fc.constant('SYM0001'), fc.string()), side: fc.constantFrom('buy', 'sell', 'x'), type: fc.constantFrom('market', 'limit', 'stop'), quantity: fc.oneof(fc.double(), fc.integer()), limitPrice: fc.option(fc.double(), { nil: undefined }) }).map((o) => JSON.stringify(o)),
      fc.record({ username: fc.string({ maxLength: 100 }), password: fc.string({ maxLength: 300 }) }).map((o) => JSON.stringify(o)),
      fc.record({ refreshToken: fc.string({ maxLength: 300 }) }).map((o) => JSON.stringify(o)),
    );
    const target = fc.constantFrom(
      ['POST', '/api/auth/login'],
      ['POST', '/api/auth/refresh'],
      ['POST', '/api/auth/guest'],
      ['POST', '/api/orders'],
      ['DELETE', '/api/orders/o1'],
      ['GET', '/api/auth/sessions'],
      ['GET', '/api/aggregates/SYM0001/1m'],
      ['GET', '/api/historical/SYM0001'],
      ['GET', '/api/profile/SYM0001/1m'],
      ['GET', '/api/stats/SYM0001'],
    );
    const query = fc.dictionary(fc.constantFrom('from', 'to', 'limit', 'cursor', 'x'), fc.oneof(fc.string({ maxLength: 40 }), fc.double().map(String), fc.integer().map(String)), { maxKeys: 4 });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(target, body, query, fc.constantFrom('guest', 'trader', 'none'), async ([method, path], b, q, who) => {
        const qs = new URLSearchParams(q).toString();
        const headers: Record<string, string> = { ...json, 'x-forwarded-for': nextAddress() };
        if (who !== 'none') headers.authorization = `Bearer ${who === 'guest' ? guestToken : traderToken}`;
        const r = await fetch(`${s.url}${path}${qs === '' ? '' : `?${qs}`}`, { method, headers, body: method === 'GET' ? undefined : b });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const text = await r.text();
        expect(r.status, `${method} ${path} ${b.slice(0, 200)} → ${text.slice(0, 300)}`).toBeLessThan(500);
        // Errors never echo much input; data answers are bounded by their limits (at most 5000 candles).
        expect(text.length).toBeLessThan(r.status >= 400 ? 64 * 1024 : 2 * 1024 * 1024);
      }),
      { numRuns: 400 },
    );
    console.log(`rest fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect((await fetch(`${s.url}/api/symbols`)).status).toBe(200);
  }, 120_000);
});
