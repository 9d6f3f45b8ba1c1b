import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

interface Operation { responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; security?: unknown }
interface Doc { openapi: string; paths: Record<string, Record<string, Operation>> }

type Schema = { type?: string | string[]; const?: unknown; enum?: unknown[]; required?: string[]; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[] };

/** Where a value breaks its documented schema (type, const, enum, required, properties, items, anyOf/oneOf/allOf): a list of paths, empty when it conforms. */
function mismatches(v: unknown, s: Schema, at = '$'): string[] {
  if (s.allOf !== undefined) return s.allOf.flatMap((x) => mismatches(v, x, at));
  if (s.anyOf !== undefined || s.oneOf !== undefined) return (s.anyOf ?? s.oneOf)!.some((x) => mismatches(v, x, at).length === 0) ? [] : [`${at}: matches none of its alternatives`];
  if (s.const !== undefined && v !== s.const) return [`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`];
  if (s.enum !== undefined && !s.enum.includes(v)) return [`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`];
  const types = s.type === undefined ? [] : [s.type].flat();
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  if (types.length > 0 && !types.some((t) => t === kind || (t === 'integer' && Number.isInteger(v)) || (t === 'number' && kind === 'number'))) return [`${at}: ${kind} where ${types.join('|')} is documented`];
  const out: string[] = [];
  if (kind === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${at}.${r}: missing`);
    for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in o && o[k] !== undefined) out.push(...mismatches(o[k], sub, `${at}.${k}`));
  }
  if (kind === 'array' && s.items !== undefined) (v as unknown[]).forEach((x, i) => out.push(...mismatches(x, s.items!, `${at}[${i}]`)));
  return out;
}

describe('OpenAPI document and docs page', () => {
  let dir: string;
  let server: ReferenceServer;
  let doc: Doc;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-openapi-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: 'openapi-secret-openapi-secret-openapi!', symbols: 2, rate: 50 });
    doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as Doc;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.1 document (validated against the 3.1 schema)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents a success schema and every error status of each operation', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
    expect(ops.length).toBeGreaterThan(15);
    for (const { key, op } of ops) {
      const codes = Object.keys(op.responses);
      const ok = codes.find((c) => c.startsWith('2'));
      expect(ok, key).toBeDefined();
      if (ok !== '204') expect(op.responses[ok!]!.content?.['application/json']?.schema, key).toBeDefined();
      expect(codes, key).toContain('500');
      if (op.security !== undefined) expect(codes, key).toContain('401');
      for (const c of codes.filter((c) => !c.startsWith('2'))) expect(op.responses[c]!.content?.['application/json']?.schema, `${key} ${c}`).toMatchObject({ required: ['error'] });
    }
    expect(Object.keys(doc.paths['/api/orders']!.post!.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409', '429', '500']));
    expect(Object.keys(doc.paths['/api/aggregates/{symbol}/{timeframe}']!.get!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '429', '503']));
    expect(Object.keys(doc.paths['/api/correlation']!.get!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '429', '503']));
    for (const p of ['/api/daily', '/api/volume', '/api/report']) expect(Object.keys(doc.paths[p]!.get!.responses), p).toEqual(expect.arrayContaining(['200', '400', '401', '429', '503']));
  });

  it('live answers match their documented response schemas', async () => {
    const token = async (u: string) => ((await (await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: u }) })).json()) as { accessToken: string }).accessToken;
    const trader = { authorization: `Bearer ${await token('trader')}` };
    const admin = { authorization: `Bearer ${await token('admin')}` };
    // A fill and a position first, so the portfolio and audit answers have rows to check.
    const price = await until(async () => {
      const r = await fetch(`${server.url}/api/stats/SYM0001`, { headers: trader });
      return r.status === 200 ? ((await r.json()) as { last: number }).last : undefined;
    }, 'stats for SYM0001', 10_000);
    expect((await fetch(`${server.url}/api/orders`, { method: 'POST', headers: { ...trader, 'content-type': 'application/json' }, body: JSON.stringify({ symbol: 'SYM0001', side: 'buy', quantity: 2, type: 'market' }) })).status).toBe(201);
    expect(price).toBeGreaterThan(0);
    const checks: [string, string, Record<string, string>][] = [
      ['/api/stats/{symbol}', '/api/stats/SYM0001', trader],
      ['/api/portfolio', '/api/portfolio', trader],
      ['/api/orders', '/api/orders', trader],
      ['/api/audit', '/api/audit', admin],
      ['/healthz', '/healthz', {}],
      ['/api/symbols', '/api/symbols', {}],
      ['/api/aggregates/{symbol}/{timeframe}', '/api/aggregates/SYM0001/1m', trader],
      // Embedded with the demo history: the 1m correlation is seeded from its candles, daily bars come from its 1d candles.
      ['/api/correlation', '/api/correlation', trader],
      ['/api/daily', '/api/daily?symbol=SYM0001', trader],
      ['/api/volume', '/api/volume', trader],
      ['/api/report', '/api/report?limit=1', trader],
    ];
    for (const [path, url, headers] of checks) {
      const r = await fetch(`${server.url}${url}`, { headers });
      expect(r.status, url).toBe(200);
      const schema = doc.paths[path]!.get!.responses['200']!.content!['application/json']!.schema as Schema;
      expect(mismatches(await r.json(), schema), url).toEqual([]);
    }
    // The checker itself catches a wrong answer.
    expect(mismatches({ symbol: 'X' }, doc.paths['/api/stats/{symbol}']!.get!.responses['200']!.content!['application/json']!.schema as Schema).length).toBeGreaterThan(5);
  });

  it('serves Swagger UI at /api/docs with its assets, under a CSP that allows them', async () => {
    const res = await fetch(`${server.url}/api/docs/`, { redirect: 'follow' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/swagger-ui/i);
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self' 'unsafe-inline'/);
    const scripts = [...html.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect((await fetch(new URL(s, `${server.url}/api/docs/`))).status, s).toBe(200);
    const init = await (await fetch(`${server.url}/api/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain('/api/openapi.json');
  });
});
