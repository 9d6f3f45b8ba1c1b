// Issue 13 item 7: resting limit orders are bounded, hold the cash or shares they need, and sit in a price-indexed book.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/server/auditLog.js';
import { MAX_RESTING_ORDERS, OrderInputSchema, OrderRejected, PaperBroker } from '../../src/server/paperBroker.js';
import type { Order } from '../../src/server/paperBroker.js';

describe('limit order bounds and cash reservation', () => {
  let dir: string;
  let audit: AuditLog;
  const prices = new Map<string, number>([['AAPL', 100]]);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-book-'));
    audit = await AuditLog.open(join(dir, 'audit.ndjson'));
  });
  afterEach(async () => {
    await audit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reason = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof OrderRejected) return `${e.status} ${e.message}`;
      throw e;
    }
    return 'accepted';
  };

  it('a resting buy holds quantity × limit: buys beyond the cash are refused (today: 12 000 buys for 1.2e11 against 1e5 cash were accepted)', () => {
    const b = new PaperBroker(audit, 100_000, (s) => prices.get(s));
    let accepted = 0;
    const refusals: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = reason(() => b.place('eve', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 10_000, limitPrice: 10 }));
      if (r === 'accepted') accepted++;
      else refusals.push(r);
    }
    expect(accepted).toBe(1); // 10 000 × 10 = the whole cash
    expect(b.reservedCash('eve')).toBe(100_000);
    expect(refusals).toHaveLength(199);
    for (const r of refusals) expect(r).toMatch(/^400 insufficient cash: a limit buy .* available cash is 0 \(100000 held by open buy orders\)$/);
    // Market orders see only what is not held either.
    expect(reason(() => b.place('eve', { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 }))).toMatch(/^400 insufficient cash.*available cash is 0/);
  });

  it('at most MAX_RESTING_ORDERS resting orders per user (409); a cancel frees the slot and the cash', () => {
    const b = new PaperBroker(audit, 100_000, (s) => prices.get(s));
    const orders: Order[] = [];
    for (let i = 0; i < MAX_RESTING_ORDERS; i++) orders.push(b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: 50 }));
    expect(reason(() => b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: 50 }))).toMatch(/^409 too many open limit orders: at most 100/);
    expect(b.restingCount()).toBe(100);
    expect(b.reservedCash('ann')).toBe(5_000);
    expect(b.cancel('ann', orders[0]!.id).status).toBe('cancelled');
    expect(b.reservedCash('ann')).toBe(4_950);
    expect(reason(() => b.cancel('ann', orders[0]!.id))).toMatch(/^409 order o\d+ is cancelled/); // already cancelled
    expect(reason(() => b.cancel('bob', orders[1]!.id))).toMatch(/^404/); // not bob's
    expect(b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: 50 }).status).toBe('open');
    // Another user is unaffected.
    expect(b.place('bob', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: 50 }).status).toBe('open');
  });

  it('reservations, cancels and the book survive a restart (rebuilt from the journal)', async () => {
    const b = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 });
    const buy = b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 20, limitPrice: 90 });
    const sell = b.place('ann', { symbol: 'AAPL', side: 'sell', type: 'limit', quantity: 4, limitPrice: 120 });
    const gone = b.place('ann', { symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 5, limitPrice: 80 });
    b.cancel('ann', gone.id);
    await audit.close();
    audit = await AuditLog.open(join(dir, 'audit.ndjson'));
    const again = new PaperBroker(audit, 10_000, (s) => prices.get(s));
    expect(again.reservedCash('ann')).toBe(1_800);
    expect(again.restingCount()).toBe(2);
    expect(reason(() => again.place('ann', { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 7 }))).toMatch(/6 held and not already offered/);
    again.onTrades([{ symbol: 'AAPL', ts: 5, price: 89, size: 1 }]);
    expect(again.orders('ann').find((o) => o.id === buy.id)).toMatchObject({ status: 'filled', fillPrice: 89 });
    expect(again.orders('ann').find((o) => o.id === sell.id)).toMatchObject({ status: 'open' });
    expect(again.orders('ann').find((o) => o.id === gone.id)).toMatchObject({ status: 'cancelled' });
    expect(again.reservedCash('ann')).toBe(0);
  });

  it('refuses fractional, denormal and non-positive quantities and prices at the schema', () => {
    for (const quantity of [0.5, 5e-324, 0, -1, 1e10]) expect(OrderInputSchema.safeParse({ symbol: 'A', side: 'buy', type: 'market', quantity }).success).toBe(false);
    expect(OrderInputSchema.safeParse({ symbol: 'A', side: 'buy', type: 'limit', quantity: 1, limitPrice: 5e-324 }).success).toBe(false);
    expect(OrderInputSchema.safeParse({ symbol: 'A', side: 'buy', type: 'limit', quantity: 3, limitPrice: 0.01 }).success).toBe(true);
  });

  it('the price-indexed book fills exactly what a scan of every order would, at every trade (property)', async () => {
    type Op = { kind: 'place'; user: number; side: 'buy' | 'sell'; limit: number; qty: number } | { kind: 'trade'; price: number } | { kind: 'cancel'; nth: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('place' as const), user: fc.integer({ min: 0, max: 3 }), side: fc.constantFrom('buy' as const, 'sell' as const), limit: fc.integer({ min: 90, max: 110 }), qty: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('trade' as const), price: fc.integer({ min: 85, max: 115 }) }),
      fc.record({ kind: fc.constant('cancel' as const), nth: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const d = mkdtempSync(join(tmpdir(), 'tickflow-book-prop-'));
        const a = await AuditLog.open(join(d, 'audit.ndjson'));
        let last = 100;
        const b = new PaperBroker(a, 1e9, () => last);
        // The naive model: every open limit order, checked against every trade.
        const open: { id: string; side: 'buy' | 'sell'; limit: number }[] = [];
        const users = ['u0', 'u1', 'u2', 'u3'];
        // Give everyone shares to sell.
        for (const u of users) b.place(u, { symbol: 'X', side: 'buy', type: 'market', quantity: 1_000 });
        for (const o of ops) {
          if (o.kind === 'place') {
            const marketable = o.side === 'buy' ? last <= o.limit : last >= o.limit;
            try {
              const placed = b.place(users[o.user]!, { symbol: 'X', side: o.side, type: 'limit', quantity: o.qty, limitPrice: o.limit });
              if (!marketable) open.push({ id: placed.id, side: o.side, limit: o.limit });
            } catch (e) {
              if (!(e instanceof OrderRejected)) throw e;
            }
          } else if (o.kind === 'cancel') {
            if (open.length === 0) continue;
            const [c] = open.splice(o.nth % open.length, 1);
            const owner = users.find((u) => b.orders(u).some((x) => x.id === c!.id))!;
            b.cancel(owner, c!.id);
          } else {
            last = o.price;
            const expected = open.filter((x) => (x.side === 'buy' ? o.price <= x.limit : o.price >= x.limit)).map((x) => x.id).sort();
            for (const id of expected) open.splice(open.findIndex((x) => x.id === id), 1);
            const before = new Set(users.flatMap((u) => b.orders(u).filter((x) => x.status === 'filled').map((x) => x.id)));
            b.onTrades([{ symbol: 'X', ts: 1, price: o.price, size: 1 }]);
            const filled = users.flatMap((u) => b.orders(u).filter((x) => x.status === 'filled' && !before.has(x.id)).map((x) => x.id)).sort();
            expect(filled).toEqual(expected);
          }
          expect(b.restingCount()).toBe(open.length);
        }
        await a.close();
        rmSync(d, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});
