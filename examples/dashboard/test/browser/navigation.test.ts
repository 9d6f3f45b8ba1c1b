import { describe, expect, it } from 'vitest';
import { pageSuite } from './browserKit.js';

interface Hook {
  symbol: string;
  timeframe: string;
  state: string;
  candles(): { symbol: string; timeframe: string }[];
  timeLabels(ms: number): { axis: string; tape: string };
}
declare const window: { tickflowPage: Hook };

describe('dashboard page navigation and time zone', () => {
  const suite = pageSuite('nav', { jwtSecret: 'nav-secret-nav-secret-nav-secret-nav!!', rate: 200, symbols: 4, seed: 3 });

  it('follows an edited hash and back/forward', { timeout: 60_000 }, async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.server.url}/#SYM0002/5m`);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 100, undefined, { timeout: 15_000 });
    expect(await page.evaluate(() => [window.tickflowPage.symbol, window.tickflowPage.timeframe])).toEqual(['SYM0002', '5m']);
    await page.evaluate(() => (location.hash = '#SYM0003/1m'));
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0003' && window.tickflowPage.timeframe === '1m');
    await page.click('button[data-tf="15m"]');
    await page.waitForFunction(() => window.tickflowPage.timeframe === '15m');
    expect(new URL(page.url()).hash).toBe('#SYM0003/15m');
    await page.goBack();
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0003' && window.tickflowPage.timeframe === '1m');
    await page.goBack();
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0002' && window.tickflowPage.timeframe === '5m');
    await page.goForward();
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0003' && window.tickflowPage.timeframe === '1m');
    await page.close();
  });

  it('labels the time axis in the same (local) time zone as the trades tape', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ timezoneId: 'Asia/Kathmandu' }); // UTC+05:45: no whole-hour coincidence
    const page = await context.newPage();
    await page.goto(`${suite.server.url}/#SYM0001/1m`);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 100, undefined, { timeout: 15_000 });
    // The axis is drawn on a canvas: compare the labels the chart's formatter and the tape give one instant.
    const at = Date.UTC(2024, 0, 19, 14, 30, 0);
    const labels = await page.evaluate((ms) => window.tickflowPage.timeLabels(ms), at);
    expect(labels).toEqual({ axis: '2024-01-19 20:15', tape: '20:15:00' });
    await context.close();
  });
});
