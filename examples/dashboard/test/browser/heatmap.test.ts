import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOTS, pageSuite } from './browserKit.js';

// The correlation heatmap of the watchlist in Debian's Chromium (headless), on the
// built page: the embedded server's demo history seeds the 1m correlation, so a
// matrix of the watchlist's symbols is on the page at once.

const SECRET = 'heatmap-secret-heatmap-secret-heatmap!';

describe('correlation heatmap in Chromium', () => {
  const suite = pageSuite('heatmap', { jwtSecret: SECRET, rate: 100, symbols: 5, seed: 3, history: '2h' });
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    page = await suite.browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  it('draws the watchlist\'s correlation matrix: a cell per pair with r in [−1, 1], 1 on the diagonal, the value on hover', async () => {
    await page.goto(suite.server.url);
    await page.waitForFunction(() => document.querySelectorAll('#heatmap .heat-cell').length === 25, undefined, { timeout: 20_000 });
    const cells = await page.$$eval('#heatmap .heat-cell', (l) => l.map((e) => ({ row: (e as HTMLElement).dataset.row!, col: (e as HTMLElement).dataset.col!, value: (e as HTMLElement).dataset.value!, colour: getComputedStyle(e).backgroundColor })));
    const symbols = ['SYM0001', 'SYM0002', 'SYM0003', 'SYM0004', 'SYM0005'];
    expect([...new Set(cells.map((c) => c.row))]).toEqual(symbols);
    const value = (a: string, b: string) => Number(cells.find((c) => c.row === a && c.col === b)!.value);
    for (const a of symbols) {
      expect(value(a, a)).toBe(1);
      for (const b of symbols) {
        const r = value(a, b);
        expect(Number.isFinite(r)).toBe(true);
        expect(r).toBeGreaterThanOrEqual(-1);
        expect(r).toBeLessThanOrEqual(1);
        expect(r).toBe(value(b, a));
      }
    }
    // The page shows what the REST route serves for the same symbols and the same interval.
    const end = Number(await page.getAttribute('#heatmap', 'data-end'));
    const rest = await page.evaluate(async (s) => {
      const t = (await (await fetch('/api/auth/guest', { method: 'POST' })).json()) as { accessToken: string };
      return (await (await fetch(`/api/correlation?symbols=${s}`, { headers: { authorization: `Bearer ${t.accessToken}` } })).json()) as { values: (number | null)[][]; end: number };
    }, symbols.join(','));
    expect(rest.end).toBeGreaterThanOrEqual(end);
    if (rest.end === end) symbols.forEach((a, i) => symbols.forEach((b, j) => expect(value(a, b)).toBe(rest.values[i]![j])));
    // Diagonal cells red (r = 1), off-diagonal ones coloured by their own value.
    expect(cells.find((c) => c.row === 'SYM0001' && c.col === 'SYM0001')!.colour).not.toBe(cells.find((c) => c.row === 'SYM0001' && c.col === 'SYM0002')!.colour);
    await page.hover('#heatmap .heat-cell[data-row="SYM0001"][data-col="SYM0002"]');
    await expect.poll(() => page.textContent('#heatmap-readout')).toMatch(/^SYM0001 × SYM0002: r = -?\d\.\d{3} over \d+ 1m returns$/);
    await page.locator('.watchlist').screenshot({ path: join(SCREENSHOTS, 'heatmap.png') });
    expect(pageErrors).toEqual([]);
  });
});
