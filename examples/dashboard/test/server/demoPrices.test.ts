import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Candle, Trade } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import { MarketSimulator } from '@tickflow/core/synthetic';
import { backfillDemoHistory } from '../../src/server/demoHistory.js';
import { DEMO_PRICES_FILE, DemoPriceSaver, loadDemoPrices, startDemoPriceSaver } from '../../src/server/demoPrices.js';
import { InMemoryMarketStore } from '../../src/server/marketStore.js';

const trade = (symbol: string, price: number, ts: number): Trade => ({ symbol, price, ts, size: 100, side: 'buy' });

describe('demo prices in the data dir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-prices-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads nothing on a first start (no file)', async () => {
    expect(await loadDemoPrices(dir)).toBeUndefined();
  });

  it('keeps the latest price per symbol by event time and writes it at close; the next start reads it back', async () => {
    const saver = new DemoPriceSaver({ dataDir: join(dir, 'new-sub-dir') });
    saver.record([trade('A', 10, 1000), trade('B', 20, 1000), trade('A', 11, 2000)]);
    saver.record([trade('A', 9, 1500)]); // older than the price held: ignored
    expect(saver.current()).toEqual({ A: 11, B: 20 });
    await saver.close();
    expect(await loadDemoPrices(join(dir, 'new-sub-dir'))).toEqual({ A: 11, B: 20 });
    const file = JSON.parse(readFileSync(join(dir, 'new-sub-dir', DEMO_PRICES_FILE), 'utf8')) as { version: number; savedAt: number };
    expect(file.version).toBe(1);
    expect(file.savedAt).toBeGreaterThan(0);
  });

  it('keeps the loaded prices of symbols that have not traded since', async () => {
    const saver = new DemoPriceSaver({ dataDir: dir, initial: { A: 5, C: 7 } });
    saver.record([trade('A', 6, 1)]);
    await saver.close();
    expect(await loadDemoPrices(dir)).toEqual({ A: 6, C: 7 });
  });

  it('writes periodically while running', async () => {
    const saver = startDemoPriceSaver({ dataDir: dir, intervalMs: 20 });
    saver.record([trade('X', 1.2345, 1)]);
    for (let i = 0; i < 200 && (await loadDemoPrices(dir)) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await loadDemoPrices(dir)).toEqual({ X: 1.2345 });
    saver.record([trade('X', 1.3, 2)]);
    await saver.flush();
    expect(await loadDemoPrices(dir)).toEqual({ X: 1.3 });
    await saver.close();
  });

  it('refuses a damaged file with its name and what to do', async () => {
    writeFileSync(join(dir, DEMO_PRICES_FILE), '{"version":1,');
    await expect(loadDemoPrices(dir)).rejects.toThrow(/demo-prices\.json are not JSON .*delete the file/);
    writeFileSync(join(dir, DEMO_PRICES_FILE), JSON.stringify({ version: 1, savedAt: 1, prices: { A: -1 } }));
    const e = await loadDemoPrices(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TickflowError);
    expect((e as TickflowError).code).toBe('INVALID_ARGUMENT');
    expect((e as Error).message).toMatch(/prices\.A/);
  });

  it('reports a failed write and tries again at the next flush', async () => {
    const blocked = join(dir, 'file-not-dir');
    writeFileSync(blocked, '');
    const saver = new DemoPriceSaver({ dataDir: blocked });
    saver.record([trade('A', 1, 1)]);
    await expect(saver.flush()).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
    rmSync(blocked);
    await saver.close();
    expect(await loadDemoPrices(blocked)).toEqual({ A: 1 });
  });
});

describe('demo history with saved prices', () => {
  it('ends at the start prices of the live feed, with sizes scaled to the live rate', { timeout: 60_000 }, async () => {
    const startPrices = { SYM0001: 250, SYM0002: 3.21 };
    const now = Date.UTC(2026, 0, 5, 12, 0, 0);
    const run = async (liveRate?: number) => {
      const store = new InMemoryMarketStore();
      await backfillDemoHistory(store, { symbols: 3, seed: 4, spanMs: 3 * 3_600_000, rate: 5, now, startPrices, liveRate });
      return store;
    };
    const store = await run();
    // The newest history trade of each symbol is one step from where the live feed starts.
    expect(Math.abs(store.lastPrice('SYM0001')! / 250 - 1)).toBeLessThan(0.01);
    expect(Math.abs(store.lastPrice('SYM0002')! / 3.21 - 1)).toBeLessThan(0.01);
    // The unlisted symbol ends at its seeded price.
    const seeded = new MarketSimulator({ seed: 4, symbols: 3 }).prices().SYM0003!;
    expect(Math.abs(store.lastPrice('SYM0003')! / seeded - 1)).toBeLessThan(0.01);
    const volume = async (s: InMemoryMarketStore) => {
      const bars: Candle[] = await s.candles({ symbol: 'SYM0001', timeframe: '1h', from: 0, to: now, limit: 10 });
      return bars.reduce((a, b) => a + b.volume, 0);
    };
    const flat = await volume(store);
    const scaled = await volume(await run(50));
    expect(scaled / flat).toBeGreaterThan(8);
    expect(scaled / flat).toBeLessThan(12);
  });

  it('shapes history volume in a U over the UTC day when asked', { timeout: 60_000 }, async () => {
    const now = Date.UTC(2026, 0, 6, 0, 0, 0);
    const store = new InMemoryMarketStore();
    await backfillDemoHistory(store, { symbols: 2, seed: 8, spanMs: 86_400_000, rate: 2, now, volumeShape: 'intraday' });
    const bars = await store.candles({ symbol: 'SYM0001', timeframe: '1h', from: now - 86_400_000, to: now, limit: 48 });
    const at = (hour: number) => bars.filter((b) => new Date(b.start).getUTCHours() === hour).reduce((a, b) => a + b.volume / b.trades, 0);
    // Mean size per trade: the first and last hours of the day well above midday.
    expect(at(0) + at(23)).toBeGreaterThan(2 * (at(11) + at(12)));
  });
});
