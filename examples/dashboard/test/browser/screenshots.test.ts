import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOTS, pageSuite } from './browserKit.js';

// The README's screenshots, of the default setup (`npm start`: 20 symbols, 200 trades/s, seed 1, a day
// of history), at 1280×800 and 390×844 in both themes. They go to test-output/screenshots; with
// UPDATE_DOCS_SCREENSHOTS=1 to docs/img, the README's copies:
//   UPDATE_DOCS_SCREENSHOTS=1 npx vitest run examples/dashboard/test/browser/screenshots.test.ts

const DOCS_IMG = fileURLToPath(new URL('../../../../docs/img/', import.meta.url));
const OUT = process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? DOCS_IMG : SCREENSHOTS;

interface Hook {
  state: string;
  candles(): unknown[];
}
declare const window: { tickflowPage: Hook };

describe('README screenshots of the default setup', () => {
  // Only what a test needs to differ from `npm start`: a free port, a temporary data dir, no logs.
  const suite = pageSuite('shots');

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
  });

  for (const theme of ['dark', 'light'] as const) {
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      it(`${name} (${viewport.width}×${viewport.height}), ${theme} theme: chart full from the first view, every watchlist row quoted`, { timeout: 60_000 }, async () => {
        const context = await suite.browser.newContext({ viewport, colorScheme: theme, deviceScaleFactor: 1 });
        const page = await context.newPage();
        await page.goto(suite.server.url);
        await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 250, undefined, { timeout: 20_000 });
        await page.waitForFunction(() => {
          const rows = [...document.querySelectorAll('#watchlist-body tr')];
          return rows.length === 20 && rows.every((r) => r.querySelector('td.spread')!.textContent !== '');
        }, undefined, { timeout: 20_000 });
        // The crosshair readout of a bar (desktop: hover two thirds into the chart).
        if (name === 'desktop') {
          const box = (await page.locator('#chart').boundingBox())!;
          await page.mouse.move(box.x + box.width * 0.66, box.y + box.height * 0.35);
        }
        await page.waitForTimeout(700); // let the flashes of the last update fade
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
        expect(await page.textContent('#readout [data-field="vwap"]')).toMatch(/^[\d,.]+$/);
        await page.screenshot({ path: join(OUT, `${name}-${theme}.png`) });
        await context.close();
      });
    }
  }
});
