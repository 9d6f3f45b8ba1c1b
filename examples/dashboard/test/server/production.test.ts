// Issue 13 item 4 and the Low items: production refuses demo users and a generated secret (unless allowed, and says why),
// security headers, bounded 400 answers, deeply nested JSON, negative times.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { configInput, parseServerConfig } from '../../src/server/serverConfig.js';

const SECRET = 'production-secret-production-secret-!!';
const base = { port: 0, host: '127.0.0.1', symbols: 1, rate: 50, seed: 3 } as const;

function capture(): { logger: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.join('').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

async function run(over: Record<string, unknown>, fn?: (s: ReferenceServer) => Promise<void>): Promise<{ error?: Error; logs: { level: number; msg: string }[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-prod-'));
  const cap = capture();
  try {
    const s = await startReferenceServer({ ...base, dataDir: dir, ...over }, cap.logger);
    try {
      await fn?.(s);
    } finally {
      await s.close();
    }
    return { logs: cap.lines() };
  } catch (e) {
    return { error: e as Error, logs: cap.lines() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('production mode', () => {
  it('NODE_ENV=production with the demo users and no JWT_SECRET refuses to start and says why and how', async () => {
    const { error } = await run({ nodeEnv: 'production' });
    expect(error?.message).toMatch(/refusing to start in production \(NODE_ENV=production\)/);
    expect(error?.message).toMatch(/demo users with known passwords: viewer \(viewer\), trader \(trader\), admin \(admin\)/);
    expect(error?.message).toMatch(/JWT_SECRET is not set/);
    expect(error?.message).toMatch(/TICKFLOW_ALLOW_DEMO=1/);
  });

  it('a non-loopback --host counts as production too; a secret alone is not enough while demo users are on', async () => {
    const { error } = await run({ host: '0.0.0.0', jwtSecret: SECRET });
    expect(error?.message).toMatch(/--host 0\.0\.0\.0 is reachable from other machines/);
    expect(error?.message).not.toMatch(/JWT_SECRET/);
  });

  it('TICKFLOW_USERS="" means no users, not the demo users', () => {
    expect(parseServerConfig(configInput({}, { TICKFLOW_USERS: '' })).users).toEqual([]);
    expect(parseServerConfig(configInput({}, {})).users).toHaveLength(3);
  });

  it('starts in production with a secret and own users, and logs that guest access is on', async () => {
    const { error, logs } = await run({ nodeEnv: 'production', jwtSecret: SECRET, users: 'ann:s3cret-pass:trader' });
    expect(error).toBeUndefined();
    expect(logs.some((l) => l.level === 40 && /guest access is on/.test(l.msg))).toBe(true);
  });

  it('TICKFLOW_ALLOW_DEMO starts anyway, with a warning per problem', async () => {
    const { error, logs } = await run({ nodeEnv: 'production', allowDemo: '1' });
    expect(error).toBeUndefined();
    expect(logs.filter((l) => l.level === 40 && /^INSECURE \(TICKFLOW_ALLOW_DEMO\)/.test(l.msg))).toHaveLength(2);
  });

  it('the default development start (loopback, no NODE_ENV) starts and warns', async () => {
    const { error, logs } = await run({});
    expect(error).toBeUndefined();
    expect(logs.some((l) => l.level === 40 && /^development mode: demo users/.test(l.msg))).toBe(true);
  });
});

describe('hardened HTTP answers', () => {
  let s: ReferenceServer;
  let dir: string;
  const errors: unknown[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-http-'));
    const cap = capture();
    s = await startReferenceServer({ ...base, dataDir: dir, jwtSecret: SECRET }, cap.logger);
    const orig = cap.lines;
    errors.push(() => orig().filter((l) => l.level >= 50));
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const viewer = async () => ({ authorization: `Bearer ${((await (await fetch(`${s.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string }).accessToken}` });

  it('sends CSP, nosniff and frame-options headers', async () => {
    const r = await fetch(`${s.url}/api/symbols`);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect((await fetch(`${s.url}/`)).headers.get('content-security-policy')).toMatch(/script-src 'self'/);
  });

  it('answers deeply nested JSON on /api/auth/login with 400, not 500, and logs no error', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const r = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
    expect(r.status).toBe(400);
    const deepObj = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    expect((await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deepObj })).status).toBe(400);
    expect((errors[0] as () => unknown[])()).toEqual([]);
  });

  it('400 answers do not echo large input; bodies over 64 KiB get 413', async () => {
    const r = await fetch(`${s.url}/api/aggregates/SYM0001/1m?limit=${'9'.repeat(8_000)}`, { headers: await viewer() });
    expect(r.status).toBe(400);
    expect((await r.text()).length).toBeLessThan(1_000);
    const big = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'x'.repeat(100_000), password: 'y' }) });
    expect(big.status).toBe(413);
    expect((await big.text()).length).toBeLessThan(1_000);
  });

  it('from=-1 is not read as a date', async () => {
    const r = await fetch(`${s.url}/api/aggregates/SYM0001/1m?from=-1`, { headers: await viewer() });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/from/);
  });
});
