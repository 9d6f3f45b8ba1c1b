import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pageSuite } from './browserKit.js';

// What traders expect of the page (issue 15): crosshair readout, symbol search, VWAP and volume
// overlays, bid/ask/spread from live quotes, one time-zone choice for axis and tape, keyboard
// shortcuts with a help overlay, a light theme. Real Chromium against the reference server in process.

interface Bar {
  symbol: string;
  timeframe: string;
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  vwap: number;
}
interface Hook {
  symbol: string;
  timeframe: string;
  state: string;
  timeZone: string;
  theme: string;
  readoutStart: number | undefined;
  candles(): Bar[];
  timeLabels(ms: number): { axis: string; tape: string };
}
declare const window: { tickflowPage: Hook };

const price2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const price4 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const qty = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
/** The page's price format (web/src/format.ts). */
const fmtPrice = (p: number): string => (Math.abs(p) >= 1 ? price2.format(p) : price4.format(p));
const num = (s: string | null): number => Number((s ?? '').replace(/,/g, ''));

describe('dashboard page: what traders expect', () => {
  const suite = pageSuite('trader', { jwtSecret: 'trader-secret-trader-secret-trader-secret', rate: 200, symbols: 12, seed: 5 });

  async function open(context: BrowserContext, hash = '#SYM0001/1m'): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${suite.server.url}/${hash}`);
    try {
      await page.waitForFunction(() => window.tickflowPage?.state === 'live' && window.tickflowPage.candles().length > 100, undefined, { timeout: 20_000 });
    } catch (e) {
      const state = await page.evaluate(() => ({ state: window.tickflowPage?.state, bars: window.tickflowPage?.candles().length, notice: document.getElementById('notice')?.textContent }));
      throw new Error(`the page did not get live with history: ${JSON.stringify(state)}; errors: ${errors.join(' | ')}`, { cause: e });
    }
    return page;
  }

  it('shows the OHLCV and VWAP of the bar under the crosshair', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await open(context);
    // Hover a point left of the chart's middle: an older bar (a late trade within the grace may still revise it).
    const box = (await page.locator('#chart').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await page.waitForFunction(() => document.getElementById('readout')!.dataset.hovered === 'true');
    const start = Number(await page.getAttribute('#readout', 'data-start'));
    // The readout and the bar are read in one evaluation: a revision of the bar (a late trade within
    // the grace) between two reads is not a mismatch, and the readout must follow it on its next draw.
    const shown = () =>
      page.evaluate((s) => {
        const bar = window.tickflowPage.candles().find((c) => c.start === s);
        const fields: Record<string, string | null> = {};
        for (const f of document.querySelectorAll<HTMLElement>('#readout [data-field]')) fields[f.dataset.field!] = f.textContent;
        return { bar, fields, label: bar === undefined ? undefined : window.tickflowPage.timeLabels(bar.start).axis };
      }, start);
    await expect
      .poll(async () => {
        const { bar, fields, label } = await shown();
        if (bar === undefined) return 'the hovered bar is not in the page\'s candles';
        const want = { open: fmtPrice(bar.open), high: fmtPrice(bar.high), low: fmtPrice(bar.low), close: fmtPrice(bar.close), volume: qty.format(bar.volume), vwap: fmtPrice(bar.vwap), time: label };
        const got = { open: fields.open, high: fields.high, low: fields.low, close: fields.close, volume: fields.volume, vwap: fields.vwap, time: fields.time };
        return JSON.stringify(got) === JSON.stringify(want) ? 'match' : `readout ${JSON.stringify(got)} vs bar ${JSON.stringify(want)}`;
      }, { timeout: 5_000 })
      .toBe('match');
    // Another bar further right: the readout follows the cursor.
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    await page.waitForFunction((s) => Number(document.getElementById('readout')!.dataset.start) > s, start);
    // Off the chart: the newest bar.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height + 200);
    await page.waitForFunction(() => document.getElementById('readout')!.dataset.hovered === 'false');
    expect(await page.evaluate(() => window.tickflowPage.readoutStart === window.tickflowPage.candles().at(-1)!.start)).toBe(true);
    await context.close();
  });

  it('turns the VWAP line and the volume bars off and on (buttons and v/b keys)', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await open(context);
    // VWAP is drawn in #f5a623 on the chart's canvases: count those pixels with and without the line.
    const vwapPixels = () =>
      page.evaluate(() => {
        let n = 0;
        for (const c of document.querySelectorAll<HTMLCanvasElement>('#chart canvas')) {
          const ctx = c.getContext('2d');
          if (ctx === null || c.width === 0 || c.height === 0) continue;
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - 245) < 12 && Math.abs(d[i + 1]! - 166) < 12 && Math.abs(d[i + 2]! - 35) < 12) n++;
        }
        return n;
      });
    await page.waitForTimeout(300);
    const withLine = await vwapPixels();
    expect(withLine).toBeGreaterThan(20);
    await page.click('.overlays button[data-overlay="vwap"]');
    expect(await page.getAttribute('.overlays button[data-overlay="vwap"]', 'aria-pressed')).toBe('false');
    await page.waitForTimeout(300);
    expect(await vwapPixels()).toBeLessThan(withLine / 4);
    await page.keyboard.press('v');
    expect(await page.getAttribute('.overlays button[data-overlay="vwap"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press('b');
    expect(await page.getAttribute('.overlays button[data-overlay="volume"]', 'aria-pressed')).toBe('false');
    await context.close();
  });

  it('fills bid, ask and spread in the watchlist from live quotes', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await open(context);
    await page.waitForFunction(() => document.querySelectorAll('#watchlist-body tr').length === 12);
    await page.waitForFunction(() => [...document.querySelectorAll('#watchlist-body td.spread')].every((td) => td.textContent !== ''), undefined, { timeout: 15_000 });
    // One read of every row (the cells are rewritten up to ten times a second).
    const rows = await page.$$eval('#watchlist-body tr', (trs) => trs.map((tr) => ['bid', 'ask', 'spread'].map((c) => tr.querySelector(`td.${c}`)!.textContent)));
    for (const [bidText, askText, spreadText] of rows) {
      const [bid, ask, spread] = [num(bidText!), num(askText!), num(spreadText!)];
      expect(bid).toBeGreaterThan(0);
      expect(ask).toBeGreaterThanOrEqual(bid);
      // Bid, ask and spread are each rounded to 2 decimals (prices of 1 and more in this market).
      expect(Math.abs(spread - (ask - bid))).toBeLessThanOrEqual(0.0151);
    }
    // A quote arriving later changes the cells (the synthetic market moves every symbol).
    const before = await page.textContent('#watchlist-body tr[data-symbol="SYM0001"] td.bid');
    const beforeAsk = await page.textContent('#watchlist-body tr[data-symbol="SYM0001"] td.ask');
    await page.waitForFunction(
      ([b, a]) => {
        const tr = document.querySelector('#watchlist-body tr[data-symbol="SYM0001"]')!;
        return tr.querySelector('td.bid')!.textContent !== b || tr.querySelector('td.ask')!.textContent !== a;
      },
      [before, beforeAsk] as const,
      { timeout: 15_000 },
    );
    // What Change is measured from is written on the page.
    expect(await page.textContent('#change-basis')).toMatch(/first trade since 00:00 UTC/);
    await context.close();
  });

  it('filters the watchlist by search and jumps to a symbol with Enter', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await open(context);
    await page.waitForFunction(() => document.querySelectorAll('#watchlist-body tr').length === 12);
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type('sym001');
    const shown = await page.$$eval('#watchlist-body tr:not([hidden])', (rows) => rows.map((r) => (r as HTMLElement).dataset.symbol));
    expect(shown).toEqual(['SYM0010', 'SYM0011', 'SYM0012']);
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0011');
    expect(new URL(page.url()).hash).toBe('#SYM0011/1m');
    await page.keyboard.press('Escape');
    expect(await page.locator('#watchlist-body tr:not([hidden])').count()).toBe(12);
    await context.close();
  });

  it('changes symbol with j/k and ↑/↓ and the timeframe with 1–5; ? shows the shortcuts', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await open(context, '#SYM0003/1m');
    await page.waitForFunction(() => document.querySelectorAll('#watchlist-body tr').length === 12);
    await page.keyboard.press('j');
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0004');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0005');
    await page.keyboard.press('k');
    await page.keyboard.press('ArrowUp');
    await page.waitForFunction(() => window.tickflowPage.symbol === 'SYM0003');
    for (const [key, tf] of [['3', '15m'], ['4', '1h'], ['5', '1d'], ['2', '5m'], ['1', '1m']] as const) {
      await page.keyboard.press(key);
      await page.waitForFunction((t) => window.tickflowPage.timeframe === t, tf);
      expect(await page.getAttribute(`#timeframes button[data-tf="${tf}"]`, 'aria-pressed')).toBe('true');
    }
    expect(new URL(page.url()).hash).toBe('#SYM0003/1m');
    expect(await page.isVisible('#help')).toBe(false);
    await page.keyboard.press('?');
    expect(await page.isVisible('#help')).toBe(true);
    expect(await page.textContent('#help')).toMatch(/Timeframe 1m, 5m, 15m, 1h, 1d/);
    // Keys do nothing else while the help is open; Escape closes it.
    await page.keyboard.press('j');
    expect(await page.evaluate(() => window.tickflowPage.symbol)).toBe('SYM0003');
    await page.keyboard.press('Escape');
    expect(await page.isVisible('#help')).toBe(false);
    await context.close();
  });

  it('shows the axis and the tape in local time or UTC, one choice kept across reloads', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Kathmandu' }); // UTC+05:45
    const page = await open(context);
    const at = Date.UTC(2024, 0, 19, 14, 30, 0);
    expect(await page.evaluate(() => window.tickflowPage.timeZone)).toBe('local');
    expect(await page.evaluate((ms) => window.tickflowPage.timeLabels(ms), at)).toEqual({ axis: '2024-01-19 20:15', tape: '20:15:00' });
    // The tape's newest row in local time.
    const tapeRow = async () => {
      const cell = page.locator('#tape-body tr:not([hidden]) td').first();
      await cell.waitFor();
      return page.evaluate(() => {
        const td = document.querySelector<HTMLElement>('#tape-body tr:not([hidden]) td')!;
        return { ts: Number(td.dataset.ts), text: td.textContent! };
      });
    };
    const hms = (ms: number, offsetMin: number) => new Date(ms + offsetMin * 60_000).toISOString().slice(11, 19);
    const local = await tapeRow();
    expect(local.text).toBe(hms(local.ts, 345));
    await page.selectOption('#time-zone', 'utc');
    expect(await page.evaluate((ms) => window.tickflowPage.timeLabels(ms), at)).toEqual({ axis: '2024-01-19 14:30', tape: '14:30:00' });
    await page.waitForFunction(() => {
      const td = document.querySelector<HTMLElement>('#tape-body tr:not([hidden]) td')!;
      return td.textContent === new Date(Number(td.dataset.ts)).toISOString().slice(11, 19);
    });
    // The readout (the newest bar when not hovering) is in UTC too.
    const start = await page.evaluate(() => window.tickflowPage.readoutStart!);
    await page.waitForFunction((s) => document.querySelector('#readout [data-field="time"]')?.textContent === new Date(s).toISOString().slice(0, 16).replace('T', ' ') || window.tickflowPage.readoutStart !== s, start);
    await page.reload();
    await page.waitForFunction(() => window.tickflowPage?.state === 'live');
    expect(await page.evaluate(() => window.tickflowPage.timeZone)).toBe('utc');
    expect(await page.inputValue('#time-zone')).toBe('utc');
    expect(await page.evaluate((ms) => window.tickflowPage.timeLabels(ms).axis, at)).toBe('2024-01-19 14:30');
    // The z key switches back.
    await page.keyboard.press('z');
    expect(await page.evaluate((ms) => window.tickflowPage.timeLabels(ms), at)).toEqual({ axis: '2024-01-19 20:15', tape: '20:15:00' });
    await context.close();
  });

  it('follows prefers-color-scheme by default; the theme toggle changes the colours and is kept', { timeout: 60_000 }, async () => {
    const background = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const light = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    const lp = await open(light);
    expect(await lp.evaluate(() => window.tickflowPage.theme)).toBe('light');
    const lightBg = await background(lp);
    await light.close();

    const dark = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const page = await open(dark);
    expect(await page.evaluate(() => window.tickflowPage.theme)).toBe('dark');
    const darkBg = await background(page);
    expect(darkBg).not.toBe(lightBg);
    // The chart's own canvas background follows too (top-left pixel of its first canvas).
    const chartPixel = () =>
      page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#chart canvas')!;
        const d = c.getContext('2d')!.getImageData(2, 2, 1, 1).data;
        return [d[0]!, d[1]!, d[2]!];
      });
    const darkChart = await chartPixel();
    await page.click('#theme');
    expect(await page.evaluate(() => window.tickflowPage.theme)).toBe('light');
    expect(await background(page)).toBe(lightBg);
    await page.waitForFunction((before) => {
      const c = document.querySelector<HTMLCanvasElement>('#chart canvas')!;
      const d = c.getContext('2d')!.getImageData(2, 2, 1, 1).data;
      return d[0] !== before[0] || d[1] !== before[1] || d[2] !== before[2];
    }, darkChart);
    expect((await chartPixel()).every((v) => v > 200)).toBe(true);
    // Kept across a reload, over the system's dark preference.
    await page.reload();
    await page.waitForFunction(() => window.tickflowPage?.state === 'live');
    expect(await background(page)).toBe(lightBg);
    await page.keyboard.press('t');
    expect(await background(page)).toBe(darkBg);
    await dark.close();
  });

  it('sets the theme before the page script runs (no dark flash for a light-preference user)', { timeout: 60_000 }, async () => {
    for (const [scheme, stored, expected] of [['light', undefined, 'light'], ['dark', undefined, 'dark'], ['light', 'dark', 'dark'], ['dark', 'light', 'light']] as const) {
      const context = await suite.browser.newContext({ viewport: { width: 800, height: 600 }, colorScheme: scheme });
      if (stored !== undefined) await context.addInitScript((t) => localStorage.setItem('tickflow.theme', t), stored);
      const page = await context.newPage();
      // No module script at all: only the head's classic theme-boot.js can set the theme.
      await page.route('**/assets/*.js', (route) => route.abort());
      await page.goto(suite.server.url, { waitUntil: 'domcontentloaded' });
      expect({ scheme, stored, theme: await page.evaluate(() => document.documentElement.dataset.theme) }).toEqual({ scheme, stored, theme: expected });
      await context.close();
    }
  });

  it('shows order and position changes live over the private channel, with a cancel button on resting orders, and no polling', { timeout: 60_000 }, async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await open(context);
    const reads: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && /\/api\/(orders|portfolio)$/.test(new URL(r.url()).pathname)) reads.push(new URL(r.url()).pathname);
    });
    await page.fill('#login-form input[name="username"]', 'trader');
    await page.fill('#login-form input[name="password"]', 'trader');
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#portfolio', { state: 'visible' });
    // One read of each when the private channel connects.
    await page.waitForFunction(() => document.querySelector('#summary dl') !== null);
    expect(reads.sort()).toEqual(['/api/orders', '/api/portfolio']);

    // Orders placed elsewhere (another session of the same user) appear without a reload.
    const login = await fetch(`${suite.server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'trader', password: 'trader' }) });
    const token = ((await login.json()) as { accessToken: string }).accessToken;
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${suite.server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const limit = Math.round(suite.server.store.lastPrice('SYM0001')! * 50) / 100;
    const placed: { id: string }[] = [];
    for (let i = 0; i < 2; i++) placed.push((await (await api('POST', '/api/orders', { symbol: 'SYM0001', side: 'buy', type: 'limit', quantity: 1, limitPrice: limit })).json()) as { id: string });
    const [a, b] = placed as [{ id: string }, { id: string }];
    await page.locator(`#orders-body tr[data-order="${a.id}"][data-status="open"] button[data-cancel]`).waitFor();
    await page.locator(`#orders-body tr[data-order="${b.id}"][data-status="open"] button[data-cancel]`).waitFor();

    // The page's cancel button, and a cancel from the other session: both rows turn cancelled and lose their button.
    await page.click(`#orders-body button[data-cancel="${a.id}"]`);
    await page.locator(`#orders-body tr[data-order="${a.id}"][data-status="cancelled"]`).waitFor();
    expect(await page.textContent('#order-message')).toBe(`Order ${a.id} cancelled.`);
    expect((await api('DELETE', `/api/orders/${b.id}`)).status).toBe(200);
    await page.locator(`#orders-body tr[data-order="${b.id}"][data-status="cancelled"]`).waitFor();
    expect(await page.locator('#orders-body button[data-cancel]').count()).toBe(0);

    // A fill from the other session: the position appears, then its mark moves with the market (re-marked by the server).
    expect((await api('POST', '/api/orders', { symbol: 'SYM0001', side: 'buy', type: 'market', quantity: 2 })).status).toBe(201);
    const last = page.locator('#positions-body tr[data-symbol="SYM0001"] td:nth-child(4)');
    await last.waitFor();
    const firstMark = await last.textContent();
    await page.waitForFunction((before) => document.querySelector('#positions-body tr[data-symbol="SYM0001"] td:nth-child(4)')?.textContent !== before, firstMark, { timeout: 30_000 });
    // Everything after the first read came over the WebSocket.
    expect(reads).toHaveLength(2);
    await context.close();
  });
});
