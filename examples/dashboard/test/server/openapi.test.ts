import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';

interface Operation { responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; security?: unknown }
interface Doc { openapi: string; paths: Record<string, Record<string, Operation>> }

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
