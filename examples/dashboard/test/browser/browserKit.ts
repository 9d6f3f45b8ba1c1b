// Shared by the browser tests: Debian's Chromium through playwright-core, and the built page.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { ensureDebianPrograms } from '@tickflow/test-services';
import { webAssetsDir } from '../../src/server/livePageRoutes.js';

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
