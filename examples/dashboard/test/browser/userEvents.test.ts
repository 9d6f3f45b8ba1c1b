// The page's user events in Debian's Chromium: session start and page view
// at load, timeframe and symbol changes, an uncaught error, and the session
// end sent with a keepalive request when the page is left; the server counts
// them per type (GET /api/events/stats).
import { describe, expect, it } from 'vitest';
import { until } from '../waitUntil.js';
import { pageSuite } from './browserKit.js';

interface Hook {
  symbol: string;
  timeframe: string;
  state: string;
}
declare const window: { tickflowPage: Hook; location: Location; setTimeout: typeof setTimeout };

interface Stats {
  totals: Record<string, number>;
  recent: { type: string; user: string; sessionId: string; client?: string; message?: string; symbol?: string; from?: string; to?: string }[];
}

describe('dashboard page user events', () => {
  const suite = pageSuite('page-events', { jwtSecret: 'uev-secret-uev-secret-uev-secret-uev!!', rate: 100, symbols: 3, seed: 5, history: '0' });

  it('sends session, navigation and error events, and the session end when the page is left', { timeout: 60_000 }, async () => {
    const page = await suite.browser.newPage();
    await page.goto(`${suite.server.url}/#SYM0001/1m`);
    await page.waitForFunction(() => window.tickflowPage?.state === 'live', undefined, { timeout: 20_000 });
    await page.click('button[data-tf="5m"]');
    await page.waitForFunction(() => window.tickflowPage.timeframe === '5m');
    await page.evaluate(() => (window.location.hash = '#SYM0002/5m'));
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0002');
    await page.evaluate(() => {
      window.setTimeout(() => {
        throw new Error('boom from the user-events test');
      });
    });
    // Leaving the page: pagehide queues session_end and sends everything with keepalive.
    await page.goto('about:blank');
    await page.close();

    const r = await fetch(`${suite.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) });
    const admin = ((await r.json()) as { accessToken: string }).accessToken;
    const stats = await until(async () => {
      const s = (await (await fetch(`${suite.server.url}/api/events/stats?recent=50`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Stats;
      return s.totals.session_end === 1 ? s : undefined;
    }, 'the page events, session end included', 20_000);
    expect(stats.totals).toMatchObject({ session_start: 1, page_view: 1, timeframe_changed: 1, symbol_selected: 1, error: 1, session_end: 1 });
    const byType = new Map(stats.recent.map((e) => [e.type, e]));
    expect(byType.get('timeframe_changed')).toMatchObject({ symbol: 'SYM0001', from: '1m', to: '5m' });
    expect(byType.get('symbol_selected')).toMatchObject({ symbol: 'SYM0002' });
    expect(byType.get('error')!.message).toMatch(/boom from the user-events test/);
    // One session, sent by the page's guest, marked as the web client.
    expect(new Set(stats.recent.map((e) => e.sessionId)).size).toBe(1);
    expect(stats.recent.every((e) => e.client === 'web' && /^guest-/.test(e.user))).toBe(true);
  });
});
