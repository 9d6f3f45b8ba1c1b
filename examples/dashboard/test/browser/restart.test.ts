import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { launchChromium, requireBuiltPage } from './browserKit.js';

// A server restart in the default setup (no JWT_SECRET): the page must be
// live again within 10 s, as a guest and as a signed-in trader, and say so
// when the server forgot the session.

interface Hook {
  state: string;
  batches: number;
}
declare const window: { tickflowPage: Hook };

describe('dashboard page across a restart without JWT_SECRET', () => {
  const dirs: string[] = [];
  let server: ReferenceServer | undefined;
  let browser: Browser;
  const start = (dataDir: string, port = 0) => startReferenceServer({ port, host: '127.0.0.1', logLevel: 'silent', dataDir, rate: 200, symbols: 3, seed: 5 });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'tickflow-restart-page-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    requireBuiltPage();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function liveAgainAfterRestart(page: Page, dataDir: string): Promise<number> {
    const port = server!.port;
    await server!.close();
    await page.waitForFunction(() => window.tickflowPage.state === 'reconnecting', undefined, { timeout: 10_000 });
    const restarted = Date.now();
    server = await start(dataDir, port);
    const batches = await page.evaluate(() => window.tickflowPage.batches);
    await page.waitForFunction((b) => window.tickflowPage.state === 'live' && window.tickflowPage.batches > b + 2, batches, { timeout: 10_000 });
    return Date.now() - restarted;
  }

  async function openAsTrader(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server!.url);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live', undefined, { timeout: 10_000 });
    await page.fill('#login-form input[name="username"]', 'trader');
    await page.fill('#login-form input[name="password"]', 'trader');
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#portfolio', { state: 'visible' });
    return page;
  }

  it('same data dir: a guest page and a trader page are live again within 10 s, the trader still signed in', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    server = await start(dir);
    const guest = await browser.newPage();
    await guest.goto(server.url);
    await guest.waitForFunction(() => window.tickflowPage?.state === 'live', undefined, { timeout: 10_000 });
    const trader = await openAsTrader();
    const tookMs = await liveAgainAfterRestart(trader, dir);
    expect(tookMs).toBeLessThan(10_000);
    await guest.waitForFunction(() => window.tickflowPage.state === 'live', undefined, { timeout: 10_000 });
    expect(await trader.textContent('#session')).toBe('trader · trader');
    expect(await guest.textContent('#session')).toBe('guest (read only)');
    // REST still works with the kept session (the portfolio poll does not fail).
    await trader.fill('#order-form input[name="quantity"]', '1');
    await trader.click('#order-form button[type="submit"]');
    await trader.waitForFunction(() => /filled: buy 1 /.test(document.getElementById('order-message')!.textContent ?? ''), undefined, { timeout: 10_000 });
    await guest.close();
    await trader.close();
  });

  it('a server that forgot the session (new data dir): live again within 10 s as a guest, and the trader is told', { timeout: 60_000 }, async () => {
    server ??= await start(tempDir());
    const trader = await openAsTrader();
    const tookMs = await liveAgainAfterRestart(trader, tempDir());
    expect(tookMs).toBeLessThan(10_000);
    await trader.waitForFunction(() => /log in again/.test(document.getElementById('notice')!.textContent ?? ''), undefined, { timeout: 10_000 });
    expect(await trader.textContent('#session')).toBe('guest (read only)');
    await trader.close();
  });
});
