import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/server/auditLog.js';
import { OrderRejected, PaperBroker } from '../../src/server/paperBroker.js';

describe('PaperBroker', () => {
  let dir: string;
  let audit: AuditLog;
  const prices = new Map<string, number>([['AAPL', 100]]);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-broker-'));
    audit = await AuditLog.open(join(dir, 'audit.ndjson'));
  });
  afterEach(async () => {
    await audit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rests a limit buy until a trade crosses it, filling at that trade price', () => {
    const b = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    const o = b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 10, limitPrice: 95 }, 1);
    expect(o.status).toBe('open');
    b.onTrades([{ symbol: 'AAPL', ts: 2, price: 96, size: 1 }]);
    expect(o.status).toBe('open');
    b.onTrades([{ symbol: 'AAPL', ts: 3, price: 94.5, size: 1 }]);
    expect(o).toMatchObject({ status: 'filled', fillPrice: 94.5, filledAt: 3 });
    expect(b.portfolio('ann')).toMatchObject({ cash: 10_000 - 945, positions: [{ symbol: 'AAPL', quantity: 10, averageCost: 94.5 }] });
  });

  it('fills a marketable limit order at once and refuses selling more than is held', () => {
    const b = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    expect(b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 5, limitPrice: 101 }).status).toBe('filled');
    b.place('ann', { symbol: 'AAPL', side: 'sell', type: 'limit', quantity: 3, limitPrice: 200 });
    expect(() => b.place('ann', { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 3 })).toThrow(OrderRejected);
    expect(() => b.place('ann', { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 3 })).toThrow(/2 held and not already offered/);
  });

  it('a resting buy holds its cash: a later buy cannot spend it, so the resting one is paid for when it is reached', () => {
    const b = new PaperBroker(audit, 1000, (s) => prices.get(s));
    const o = b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 9, limitPrice: 99 });
    expect(() => b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5 })).toThrow(/insufficient cash.*891 held by open buy orders/);
    b.onTrades([{ symbol: 'AAPL', ts: 5, price: 98, size: 1 }]);
    expect(o).toMatchObject({ status: 'filled', fillPrice: 98 });
  });

  it('rebuilds orders, positions, cash and resting orders from the audit log', async () => {
    const b = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 });
    b.place('ann', { symbol: 'AAPL', side: 'sell', type: 'limit', quantity: 4, limitPrice: 120 });
    await audit.close();
    audit = await AuditLog.open(join(dir, 'audit.ndjson'));
    const again = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    expect(again.orders('ann')).toEqual(b.orders('ann'));
    expect(again.portfolio('ann')).toEqual(b.portfolio('ann'));
    again.onTrades([{ symbol: 'AAPL', ts: 9, price: 121, size: 1 }]);
    expect(again.portfolio('ann')).toMatchObject({ realisedPnl: 84, positions: [{ quantity: 6 }] });
  });
});
