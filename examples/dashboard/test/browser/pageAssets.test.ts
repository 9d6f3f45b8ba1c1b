import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { PAGE_NOT_BUILT, livePageRoutes, webAssetsDir } from '../../src/server/livePageRoutes.js';
import type { RouteContext } from '../../src/server/routeContext.js';

describe('dashboard page assets', () => {
  it('finds dist/web next to the bundled CLI and from src/server', () => {
    const root = mkdtempSync(join(tmpdir(), 'tickflow-assets-'));
    try {
      mkdirSync(join(root, 'dist', 'web'), { recursive: true });
      mkdirSync(join(root, 'src', 'server'), { recursive: true });
      writeFileSync(join(root, 'dist', 'web', 'index.html'), '<title>x</title>');
      expect(webAssetsDir(pathToFileURL(join(root, 'dist', 'cli.js')).href)).toBe(join(root, 'dist', 'web'));
      expect(webAssetsDir(pathToFileURL(join(root, 'src', 'server', 'livePageRoutes.ts')).href)).toBe(join(root, 'dist', 'web'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('answers 503 saying how to build the page when dist/web is missing', async () => {
    const app = Fastify({ logger: false });
    const missing = join(tmpdir(), 'tickflow-no-such-build');
    expect(livePageRoutes(app, {} as RouteContext, missing)).toEqual({ built: false, dir: missing });
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain(PAGE_NOT_BUILT);
    expect(r.body).toMatch(/run `npm run build`/);
    await app.close();
  });

  it('serves the build with a revalidated index and immutable hashed assets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-web-'));
    try {
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>tickflow live</title>');
      writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
      const app = Fastify({ logger: false });
      livePageRoutes(app, {} as RouteContext, dir);
      const index = await app.inject({ method: 'GET', url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<title>tickflow live</title>');
      expect(index.headers['cache-control']).toBe('no-cache');
      const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect((await app.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode).toBe(404);
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
