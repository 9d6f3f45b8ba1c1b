import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Candle } from '@tickflow/core';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { untilTrading } from '../waitUntil.js';

describe('demo history', () => {
  it('fills every timeframe at start, through the same operators, ending where the live prices begin', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-history-'));
    const server = await startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir: dir, jwtSecret: 'history-secret-history-secret-history!', symbols: 20, seed: 1 });
    try {
      const { accessToken } = (await (await fetch(`${server.url}/api/auth/guest`, { method: 'POST' })).json()) as { accessToken: string };
      const get = async (path: string) => ((await (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { candles: Candle[] }).candles;
      for (const symbol of ['SYM0001', 'SYM0016', 'SYM0020']) {
        const m1 = await get(`/api/aggregates/${symbol}/1m?limit=300`);
        expect(m1.length, symbol).toBeGreaterThanOrEqual(250);
        expect(new Set(m1.map((c) => c.close)).size, `${symbol} moves`).toBeGreaterThan(20);
        expect((await get(`/api/aggregates/${symbol}/5m?limit=300`)).length).toBeGreaterThanOrEqual(250);
        expect((await get(`/api/aggregates/${symbol}/1h?limit=300`)).length).toBeGreaterThanOrEqual(20);
      }
      // The history ends at the live feed's first prices: no jump at the seam.
      await untilTrading(server);
      const hist = (await get('/api/aggregates/SYM0001/1m?limit=300')).filter((c) => c.final);
      const seam = hist.at(-2)!.close;
      expect(Math.abs(server.store.lastPrice('SYM0001')! - seam) / seam).toBeLessThan(0.01);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
