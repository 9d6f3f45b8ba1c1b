import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PRICES_FILE } from '../../src/server/demoPrices.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'demo-prices-test-secret-0123456789abcdef';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The embedded demo continues where it stopped: the saved prices in the data dir are where the feed and its history start,
// with ingest on the main thread and in the worker thread (the build's dist/ingestWorker.js).
describe.each(['main', 'worker'] as const)('embedded demo prices across a restart (ingest on the %s thread)', (ingestThread) => {
  it('starts from demo-prices.json and writes the last prices back at close', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickflow-demo-prices-'));
    dirs.push(dataDir);
    // Far from any seeded price (they start between ~10 and ~500), so only the file can explain them.
    writeFileSync(join(dataDir, DEMO_PRICES_FILE), JSON.stringify({ version: 1, savedAt: Date.now(), prices: { SYM0001: 7777.7, SYM0002: 0.777 } }));
    const server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', jwtSecret: SECRET, dataDir, symbols: 3, rate: 300, history: '1h', ingestThread });
    try {
      // Live trades (the history's are older than the server's start).
      const live = async (symbol: string) => (await server.store.trades({ symbol, from: server.store.startedAt, to: Number.POSITIVE_INFINITY, limit: 1, cursor: 0 })).trades[0]?.price;
      const prices = await until(async () => {
        const p = { SYM0001: await live('SYM0001'), SYM0002: await live('SYM0002') };
        return p.SYM0001 !== undefined && p.SYM0002 !== undefined ? p : undefined;
      }, 'live trades of SYM0001 and SYM0002');
      expect(prices.SYM0001! / 7777.7).toBeGreaterThan(0.9);
      expect(prices.SYM0001! / 7777.7).toBeLessThan(1.1);
      expect(prices.SYM0002! / 0.777).toBeGreaterThan(0.9);
      expect(prices.SYM0002! / 0.777).toBeLessThan(1.1);
    } finally {
      await server.close();
    }
    const saved = JSON.parse(readFileSync(join(dataDir, DEMO_PRICES_FILE), 'utf8')) as { prices: Record<string, number> };
    expect(saved.prices.SYM0001! / 7777.7).toBeGreaterThan(0.9);
    expect(Object.keys(saved.prices)).toEqual(expect.arrayContaining(['SYM0001', 'SYM0002']));
  }, 60_000);
});
