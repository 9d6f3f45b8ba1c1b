// Shared by the browser tests: Debian's Chromium through playwright-core, and the built page.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ensureDebianPrograms } from '@tickflow/test-services';
import { webAssetsDir } from '../../src/server/livePageRoutes.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import type { ReferenceServer } from '../../src/server/referenceServer.js';

/** Debian's Chromium (installed by the harness when missing); CHROMIUM_PATH points at another build. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Repository root `test-output/screenshots` (gitignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../../../../test-output/screenshots/', import.meta.url));

/** Fails with what to run when the page has not been built (the server serves `dist/web`). */
export function requireBuiltPage(): string {
  const dir = webAssetsDir(new URL('../../src/server/livePageRoutes.ts', import.meta.url).href);
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`the dashboard page is not built (no ${join(dir, 'index.html')}): run \`npm run build\` first (npm test does)`);
  }
  return dir;
}

/** Starts headless Chromium (installing Debian's package first when it is missing and we are root). */
export async function launchChromium(): Promise<Browser> {
  if (process.env.CHROMIUM_PATH === undefined) await ensureDebianPrograms([{ binary: CHROMIUM, pkg: 'chromium' }], 'CHROMIUM_PATH');
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** The reference server and Chromium of one browser suite (see {@link pageSuite}). */
export interface PageSuite {
  readonly server: ReferenceServer;
  readonly browser: Browser;
  /** The server's temporary data dir. */
  readonly dir: string;
}

/**
 * Registers, in the calling `describe`, a `beforeAll` that checks the page is built, starts the
 * reference server (port 0 on 127.0.0.1, silent, in a temporary data dir `tickflow-<name>-…`, plus
 * `options`) and Chromium, and an `afterAll` that stops both and removes the dir.
 *
 * @example
 * const suite = pageSuite('nav', { rate: 200, symbols: 4, seed: 3 });
 * it('…', async () => { const page = await suite.browser.newPage(); await page.goto(suite.server.url); });
 */
export function pageSuite(name: string, options: Parameters<typeof startReferenceServer>[0] = {}): PageSuite {
  let dir: string | undefined;
  let server: ReferenceServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    requireBuiltPage();
    dir = mkdtempSync(join(tmpdir(), `tickflow-${name}-`));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, ...options });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const started = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`pageSuite(${name}): the ${what} is not started (use it inside a test or a later hook)`);
    return v;
  };
  return {
    get server() {
      return started(server, 'server');
    },
    get browser() {
      return started(browser, 'browser');
    },
    get dir() {
      return started(dir, 'data dir');
    },
  };
}
