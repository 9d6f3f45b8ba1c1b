import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './routeContext.js';

/**
 * Where the built dashboard page is (`vite build` → `examples/dashboard/dist/web`), from
 * the running module: `dist/web` next to the bundled `dist/cli.js` (or its chunks), or
 * `../../dist/web` from `src/server/` when the server runs from source (vitest).
 */
export function webAssetsDir(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(new URL('.', moduleUrl));
  const candidates = [join(here, 'web'), join(here, '..', '..', 'dist', 'web')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[candidates.length - 1]!;
}

/** The answer of `/` when the page has not been built. */
export const PAGE_NOT_BUILT = 'the dashboard page is not built: run `npm run build` (it runs `vite build` into examples/dashboard/dist/web), then start the server again';

/**
 * The dashboard page (`/`, anonymous): the Vite build in `dist/web`, served with
 * @fastify/static. Hashed assets (`/assets/*`) are cached for a year, `index.html`
 * is revalidated on every load. Without a build, `/` answers 503 saying how to build it.
 */
export function livePageRoutes(app: FastifyInstance, _ctx: RouteContext, dir: string = webAssetsDir()): { built: boolean; dir: string } {
  const built = existsSync(join(dir, 'index.html'));
  if (!built) {
    app.log.warn({ dir }, PAGE_NOT_BUILT);
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.status(503).type('text/plain; charset=utf-8').send(`${PAGE_NOT_BUILT}\n(looked in ${dir})\n`));
    return { built, dir };
  }
  const assets = join(dir, 'assets');
  void app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: ['index.html'],
    wildcard: true,
    schemaHide: true,
    setHeaders(reply, path) {
      void reply.header('cache-control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return { built, dir };
}
