import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { SCREENSHOTS, launchChromium, requireBuiltPage } from './browserKit.js';

// The page as a user sees it: Debian's Chromium (headless) against the reference
// server in process, on the built page (dist/web). One page through every test, in order.

const SECRET = 'browser-secret-browser-secret-browser!';

/** What the page exposes on `window.tickflowPage` (web/src/main.ts). */
interface Hook {
  symbol: string;
  timeframe: string;
  state: string;
  candles(): { symbol: string; timeframe: string; start: number; close: number; rev: number }[];
  lastPrice(): number | undefined;
  historyLoads: number;
  batches: number;
}
declare const window: { tickflowPage: Hook };

describe('dashboard page in Chromium', () => {
  let dir: string;
  let server: ReferenceServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const options = () => ({ port: server?.port ?? 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: SECRET, rate: 200, symbols: 5, seed: 11 }) as const;

  beforeAll(async () => {
    requireBuiltPage();
    dir = mkdtempSync(join(tmpdir(), 'tickflow-browser-'));
    server = await startReferenceServer(options());
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('loads without console errors and draws candles on the chart canvas', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 0, undefined, { timeout: 10_000 });
    const hook = await page.evaluate(() => ({ symbol: window.tickflowPage.symbol, timeframe: window.tickflowPage.timeframe, candles: window.tickflowPage.candles() }));
    expect(hook.symbol).toBe('SYM0001');
    expect(hook.timeframe).toBe('1m');
    expect(hook.candles.every((c) => c.symbol === 'SYM0001' && c.timeframe === '1m')).toBe(true);
    expect(await page.textContent('#status')).toBe('live');
    expect(await page.textContent('#session')).toMatch(/guest/);
    // Pixels of the candle colours (up #26a69a, down #ef5350) in the chart's canvases.
    const candlePixels = await page.evaluate(() => {
      let n = 0;
      for (const c of document.querySelectorAll<HTMLCanvasElement>('#chart canvas')) {
        const ctx = c.getContext('2d');
        if (ctx === null || c.width === 0 || c.height === 0) continue;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) {
          const [r, g, b] = [d[i]!, d[i + 1]!, d[i + 2]!];
          if ((Math.abs(r - 38) < 4 && Math.abs(g - 166) < 4 && Math.abs(b - 154) < 4) || (Math.abs(r - 239) < 4 && Math.abs(g - 83) < 4 && Math.abs(b - 80) < 4)) n++;
        }
      }
      return n;
    });
    expect(candlePixels).toBeGreaterThan(20);
    // The watchlist lists every symbol of the ticker; the tape shows trades.
    await page.waitForFunction(() => document.querySelectorAll('#watchlist-body tr').length === 5);
    expect(await page.locator('#tape-body tr:not([hidden])').count()).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows a new last price within 2 s', async () => {
    const before = await page.textContent('#last-price');
    expect(before).toMatch(/^[\d,.]+$/);
    await page.waitForFunction((b) => document.getElementById('last-price')!.textContent !== b, before, { timeout: 2000 });
    const shown = Number((await page.textContent('#last-price'))!.replace(/,/g, ''));
    const hookPrice = await page.evaluate(() => window.tickflowPage.lastPrice());
    expect(Math.abs(shown - hookPrice!)).toBeLessThan(1); // the hook may be one batch ahead of the screen
  });

  it('switching the timeframe loads history over REST and keeps the bars live', async () => {
    const loads = await page.evaluate(() => window.tickflowPage.historyLoads);
    for (const tf of ['5m', '1h'] as const) {
      const response = page.waitForResponse((r) => r.url().includes(`/api/aggregates/SYM0001/${tf}`));
      await page.click(`#timeframes button[data-tf="${tf}"]`);
      expect((await response).status()).toBe(200);
      await page.waitForFunction((t) => window.tickflowPage.timeframe === t && window.tickflowPage.candles().length > 0, tf);
      const bars = await page.evaluate(() => window.tickflowPage.candles());
      expect(bars.every((c) => c.symbol === 'SYM0001' && c.timeframe === tf)).toBe(true);
      expect(await page.getAttribute(`#timeframes button[data-tf="${tf}"]`, 'aria-pressed')).toBe('true');
    }
    expect(await page.evaluate(() => window.tickflowPage.historyLoads)).toBe(loads + 2);
    // The 1h bar keeps moving with the live channel (candles:SYM0001:1h).
    const last = await page.evaluate(() => window.tickflowPage.candles().at(-1)!);
    await page.waitForFunction((rev) => (window.tickflowPage.candles().at(-1)?.rev ?? 0) > rev, last.rev, { timeout: 5000 });
    expect(page.url()).toMatch(/#SYM0001\/1h$/);
  });

  it('logging in as trader and placing a market order shows the position; a refused order is explained', async () => {
    await page.fill('#login-form input[name="username"]', 'trader');
    await page.fill('#login-form input[name="password"]', 'wrong');
    await page.click('#login-form button[type="submit"]');
    await page.waitForFunction(() => /Wrong username or password/.test(document.getElementById('login-error')!.textContent ?? ''));
    await page.fill('#login-form input[name="password"]', 'trader');
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#portfolio', { state: 'visible' });
    await page.waitForSelector('#login-form', { state: 'hidden' });
    expect(await page.isVisible('#order-limit')).toBe(false); // market order: no limit price
    expect(await page.textContent('#session')).toBe('trader · trader');
    await page.fill('#order-form input[name="quantity"]', '3');
    await page.click('#order-form button[type="submit"]');
    await page.waitForFunction(() => /filled: buy 3 SYM0001 at/.test(document.getElementById('order-message')!.textContent ?? ''));
    const row = page.locator('#positions-body tr[data-symbol="SYM0001"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('3');
    await page.waitForFunction(() => document.querySelectorAll('#orders-body tr').length === 1);
    // Selling more than held: the server's reason, in words.
    await page.selectOption('#order-form select[name="side"]', 'sell');
    await page.fill('#order-form input[name="quantity"]', '50');
    await page.click('#order-form button[type="submit"]');
    await page.waitForFunction(() => /Order not placed: cannot sell 50 SYM0001: 3 held/.test(document.getElementById('order-message')!.textContent ?? ''));
    // A limit order needs a price: the field appears with the last price in it.
    await page.selectOption('#order-form select[name="type"]', 'limit');
    expect(await page.isVisible('#order-limit')).toBe(true);
    expect(Number(await page.inputValue('#order-limit'))).toBeGreaterThan(0);
    await page.selectOption('#order-form select[name="type"]', 'market');
    await page.selectOption('#order-form select[name="side"]', 'buy');
    await page.fill('#order-form input[name="quantity"]', '1');
    await page.click('#order-form button[type="submit"]');
    await page.waitForFunction(() => /filled: buy 1 SYM0001 at/.test(document.getElementById('order-message')!.textContent ?? ''));
    await page.waitForFunction(() => document.querySelector('#positions-body tr[data-symbol="SYM0001"] td:nth-child(2)')?.textContent === '4');
    // The page reconnected with the trader's token and is live again.
    await page.waitForFunction(() => window.tickflowPage.state === 'live');
  });

  it('fits a desktop and a phone screen (screenshots in test-output/screenshots)', async () => {
    await page.click('#timeframes button[data-tf="1m"]');
    await page.waitForFunction(() => window.tickflowPage.timeframe === '1m' && window.tickflowPage.candles().length > 0);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(SCREENSHOTS, 'desktop.png') });
    const wide = await page.evaluate(() => ({ chart: document.querySelector('.chart-panel')!.getBoundingClientRect().toJSON() as DOMRect, watch: document.querySelector('.watchlist')!.getBoundingClientRect().toJSON() as DOMRect }));
    expect(wide.watch.right).toBeLessThanOrEqual(wide.chart.left); // side by side
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: 844 });
      await page.waitForTimeout(400);
      const narrow = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        chart: document.querySelector('.chart-panel')!.getBoundingClientRect().toJSON() as DOMRect,
        watch: document.querySelector('.watchlist')!.getBoundingClientRect().toJSON() as DOMRect,
        canvasWidth: document.querySelector<HTMLCanvasElement>('#chart canvas')!.getBoundingClientRect().width,
      }));
      expect(narrow.scrollWidth, `no sideways scrolling at ${width} px`).toBeLessThanOrEqual(width);
      expect(narrow.watch.top).toBeGreaterThanOrEqual(narrow.chart.bottom); // one column
      expect(narrow.canvasWidth).toBeGreaterThan(200);
      if (width === 390) {
        await page.evaluate(() => document.scrollingElement!.scrollTo(0, 0));
        await page.screenshot({ path: join(SCREENSHOTS, 'phone.png') });
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows "reconnecting" while the server is down and live data again after it restarts on the same port', { timeout: 60_000 }, async () => {
    const port = server.port;
    await server.close();
    await page.waitForFunction(() => window.tickflowPage.state === 'reconnecting', undefined, { timeout: 10_000 });
    expect(await page.textContent('#status')).toBe('reconnecting');
    server = await startReferenceServer({ ...options(), port });
    expect(server.port).toBe(port);
    const batches = await page.evaluate(() => window.tickflowPage.batches);
    await page.waitForFunction((b) => window.tickflowPage.state === 'live' && window.tickflowPage.batches > b + 5, batches, { timeout: 30_000 });
    const before = await page.textContent('#last-price');
    await page.waitForFunction((b) => document.getElementById('last-price')!.textContent !== b, before, { timeout: 5000 });
    expect(await page.textContent('#status')).toBe('live');
    // The chart's live bar follows the new server too (its revisions start again at 1).
    const bar = await page.evaluate(() => window.tickflowPage.candles().at(-1)!);
    await page.waitForFunction((b) => {
      const now = window.tickflowPage.candles().at(-1);
      return now !== undefined && (now.start !== b.start || now.rev !== b.rev || now.close !== b.close);
    }, bar, { timeout: 5000 });
    expect(pageErrors).toEqual([]);
  });
});

describe('dashboard page without guest access', () => {
  it('says that guest access is off, then streams after a login', { timeout: 60_000 }, async () => {
    requireBuiltPage();
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-browser-noguest-'));
    const server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: SECRET, rate: 200, symbols: 3, guestAccess: false });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(server.url);
      await page.waitForFunction(() => /guest access is turned off.*Log in to see market data/.test(document.getElementById('notice')!.textContent ?? ''));
      expect(await page.isVisible('#notice')).toBe(true);
      expect(await page.evaluate(() => window.tickflowPage.state)).not.toBe('live');
      await page.fill('#login-form input[name="username"]', 'viewer');
      await page.fill('#login-form input[name="password"]', 'viewer');
      await page.click('#login-form button[type="submit"]');
      await page.waitForFunction(() => window.tickflowPage.state === 'live' && window.tickflowPage.candles().length > 0, undefined, { timeout: 15_000 });
      // A viewer sees the market but is told it cannot trade.
      expect(await page.textContent('#summary')).toMatch(/viewer is a viewer: viewers see market data but cannot trade/);
      expect(await page.isVisible('#order-form')).toBe(false);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
