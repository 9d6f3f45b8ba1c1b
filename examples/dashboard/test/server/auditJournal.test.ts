import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditIds, AuditLog, legacyAuditId } from '../../src/server/auditLog.js';
import { PaperBroker } from '../../src/server/paperBroker.js';

describe('audit journal', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-journal-'));
    file = join(dir, 'audit.ndjson');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ids are unique and increase in append order, within one millisecond and when the clock steps back', () => {
    const ids = new AuditIds('node1');
    const made = [ids.next(1_000), ids.next(1_000), ids.next(1_000), ids.next(999), ids.next(1_001), ids.next(5)];
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
    // A new writer that has seen the old ids continues above them even with an earlier clock.
    const next = new AuditIds('node2');
    for (const id of made) next.observe(id);
    const later = next.next(0);
    expect(later > made[made.length - 1]!).toBe(true);
    expect(later.endsWith('-node2')).toBe(true);
  });

  it('appends entries with ids and reads them back in append order after a reopen (trading entries replayed, the rest in the tail)', async () => {
    const log = await AuditLog.open(file);
    const a = log.append({ ts: 30, type: 'order', user: 'ann', order: { id: 'o1' } })!;
    const b = log.append({ ts: 10, type: 'login_failed', user: 'bob' })!;
    await log.close();
    expect(a.id < b.id).toBe(true);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    expect(lines.map((l) => l.id)).toEqual([a.id, b.id]);
    const again = await AuditLog.open(file);
    expect(again.loaded).toEqual([a]);
    expect(again.recent(10)).toEqual([a, b]);
    // New ids continue above the loaded ones.
    const c = again.append({ ts: 0, type: 'login', user: 'cy' })!;
    expect(c.id > b.id).toBe(true);
    await again.close();
  });

  it('skips a torn last line and starts the next entry on a line of its own', async () => {
    const log = await AuditLog.open(file);
    const first = log.append({ ts: 1, type: 'fill', user: 'ann', orderId: 'o1' })!;
    await log.close();
    appendFileSync(file, '{"ts":2,"type":"order","user":"ann","ord'); // power loss mid-write
    const reopened = await AuditLog.open(file);
    expect(reopened.skipped).toBe(1);
    expect(reopened.loaded).toEqual([first]);
    const second = reopened.append({ ts: 3, type: 'order', user: 'bob', order: { id: 'o2' } })!;
    await reopened.close();
    const last = await AuditLog.open(file);
    expect(last.skipped).toBe(1);
    expect(last.loaded).toEqual([first, second]);
    await last.close();
  });

  it('loads legacy lines without ids with deterministic ids, in file order, before new entries', async () => {
    const legacy = [
      { ts: 5, type: 'order', user: 'ann', order: { id: 'o1', user: 'ann', createdAt: 5, symbol: 'AAPL', side: 'buy', type: 'market', quantity: 2, status: 'open' } },
      // A fill whose trade time is earlier than the order's: order by file position, not by ts.
      { ts: 4, type: 'fill', user: 'ann', orderId: 'o1', symbol: 'AAPL', side: 'buy', quantity: 2, price: 100 },
    ];
    writeFileSync(file, legacy.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const log = await AuditLog.open(file);
    expect(log.loaded.map((e) => e.id)).toEqual([legacyAuditId(0, JSON.stringify(legacy[0])), legacyAuditId(1, JSON.stringify(legacy[1]))]);
    expect(log.loaded.map((e) => e.type)).toEqual(['order', 'fill']);
    const fresh = log.append({ ts: 1, type: 'order_cancelled', user: 'ann', orderId: 'o9' })!;
    await log.close();
    const again = await AuditLog.open(file);
    expect(again.loaded.map((e) => e.id)).toEqual([...log.loaded.map((e) => e.id), fresh.id]);
    const broker = new PaperBroker(again, 1_000, () => 100);
    expect(broker.orders('ann')).toMatchObject([{ id: 'o1', status: 'filled', fillPrice: 100 }]);
    expect(broker.portfolio('ann')).toMatchObject({ cash: 800, positions: [{ symbol: 'AAPL', quantity: 2 }] });
    expect(broker.place('ann', { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 1 }).id).toBe('o2');
    await again.close();
  });
});
