import { z } from 'zod';
import type { Trade } from '@tickflow/core';
import type { AuditEntry, AuditTrail } from './auditLog.js';
import type { Performance, Position } from './portfolio.js';
import { applyFill, performance, unrealisedPnl } from './portfolio.js';

/** A paper order as placed by a client. */
export const OrderInputSchema = z
  .object({
    symbol: z.string().min(1).max(32),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    quantity: z.number().positive().max(1e9),
    limitPrice: z.number().positive().max(1e12).optional(),
  })
  .strict()
  .refine((o) => (o.type === 'limit') === (o.limitPrice !== undefined), {
    message: 'limitPrice is required for limit orders and not allowed for market orders',
    path: ['limitPrice'],
  });

/** A paper order as placed by a client. */
export type OrderInput = z.infer<typeof OrderInputSchema>;

/** An order and what happened to it. */
export interface Order extends OrderInput {
  readonly id: string;
  readonly user: string;
  readonly createdAt: number;
  status: 'open' | 'filled' | 'rejected';
  fillPrice?: number;
  filledAt?: number;
  reason?: string;
}

/** A refused order: the status code and message the API answers with. */
export class OrderRejected extends Error {
  constructor(readonly status: 400 | 409, message: string) {
    super(message);
  }
}

/** A user's portfolio valued at the latest prices. */
export interface PortfolioView {
  readonly user: string;
  readonly cash: number;
  readonly startingCash: number;
  readonly equity: number;
  readonly realisedPnl: number;
  readonly unrealisedPnl: number;
  readonly positions: (Position & { readonly mark: number; readonly marketValue: number; readonly unrealisedPnl: number })[];
  readonly performance: Performance;
}

interface Account {
  cash: number;
  readonly positions: Map<string, Position>;
  readonly orders: Order[];
  readonly equity: number[];
}

/**
 * Paper trading against live prices: market orders fill at the last trade
 * price, limit orders fill at once when marketable and otherwise rest until a
 * trade crosses the limit (filled at that trade's price). Long only, cash
 * checked. Every order, fill and rejection goes to the audit trail first,
 * and the state is rebuilt from it at start (`audit.loaded`, in append
 * order), so it survives a restart, and with PostgreSQL a new node.
 */
export class PaperBroker {
  private readonly accounts = new Map<string, Account>();
  private readonly resting = new Map<string, Order[]>();
  private readonly marks = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly audit: AuditTrail,
    private readonly startingCash = 100_000,
    private readonly priceOf: (symbol: string) => number | undefined = () => undefined,
  ) {
    for (const e of audit.loaded) this.replay(e);
  }

  /** Places an order; throws OrderRejected with a clear message when it cannot be accepted. */
  place(user: string, input: OrderInput, now = Date.now()): Order {
    const price = this.priceOf(input.symbol);
    if (price === undefined) return this.reject(user, input, 400, `unknown symbol "${input.symbol}": no trade seen yet; GET /api/symbols lists the symbols`, now);
    const acct = this.account(user);
    if (input.side === 'sell') {
      const held = acct.positions.get(input.symbol)?.quantity ?? 0;
      let reserved = 0;
      for (const o of this.resting.get(input.symbol) ?? []) if (o.user === user && o.side === 'sell') reserved += o.quantity;
      if (input.quantity > held - reserved) {
        return this.reject(user, input, 400, `cannot sell ${input.quantity} ${input.symbol}: ${held - reserved} held and not already offered (paper trading is long only)`, now);
      }
    }
    const marketable = input.type === 'market' || (input.side === 'buy' ? price <= input.limitPrice! : price >= input.limitPrice!);
    if (input.side === 'buy' && marketable && input.quantity * price > acct.cash) {
      return this.reject(user, input, 400, `insufficient cash: ${input.quantity} ${input.symbol} at ${price} costs ${input.quantity * price}, cash is ${acct.cash}`, now);
    }
    const order: Order = { ...input, id: `o${this.nextId++}`, user, createdAt: now, status: 'open' };
    this.audit.append({ ts: now, type: 'order', user, order });
    acct.orders.push(order);
    if (marketable) this.fill(order, price, now);
    else {
      const list = this.resting.get(order.symbol) ?? [];
      list.push(order);
      this.resting.set(order.symbol, list);
    }
    return order;
  }

  /** Feeds live trades: updates marks and fills resting limit orders the price crosses. */
  onTrades(batch: readonly Trade[]): void {
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i]!;
      this.marks.set(t.symbol, t.price);
      const list = this.resting.get(t.symbol);
      if (list === undefined || list.length === 0) continue;
      for (let j = 0; j < list.length; j++) {
        const o = list[j]!;
        const crosses = o.side === 'buy' ? t.price <= o.limitPrice! : t.price >= o.limitPrice!;
        if (!crosses) continue;
        list.splice(j--, 1);
        const acct = this.account(o.user);
        if (o.side === 'buy' && o.quantity * t.price > acct.cash) {
          o.status = 'rejected';
          o.reason = `insufficient cash when the limit was reached (${o.quantity * t.price} > ${acct.cash})`;
          this.audit.append({ ts: t.ts, type: 'order_rejected', user: o.user, orderId: o.id, reason: o.reason });
        } else this.fill(o, t.price, t.ts);
      }
    }
  }

  /** A user's orders, newest first. */
  orders(user: string): Order[] {
    return [...(this.accounts.get(user)?.orders ?? [])].reverse();
  }

  /** A user's portfolio marked at the latest prices. */
  portfolio(user: string): PortfolioView {
    const acct = this.account(user);
    let equity = acct.cash;
    let realised = 0;
    let unrealised = 0;
    const positions: PortfolioView['positions'] = [];
    for (const p of acct.positions.values()) {
      realised += p.realisedPnl;
      const mark = this.priceOf(p.symbol) ?? this.marks.get(p.symbol) ?? p.averageCost;
      const u = unrealisedPnl(p, mark);
      unrealised += u;
      equity += p.quantity * mark;
      positions.push({ ...p, mark, marketValue: p.quantity * mark, unrealisedPnl: u });
    }
    positions.sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
    return {
      user,
      cash: acct.cash,
      startingCash: this.startingCash,
      equity,
      realisedPnl: realised,
      unrealisedPnl: unrealised,
      positions,
      performance: performance([...acct.equity, equity]),
    };
  }

  private fill(order: Order, price: number, ts: number): void {
    this.audit.append({ ts, type: 'fill', user: order.user, orderId: order.id, symbol: order.symbol, side: order.side, quantity: order.quantity, price });
    this.applyFillTo(order, price, ts);
  }

  private applyFillTo(order: Order, price: number, ts: number): void {
    const acct = this.account(order.user);
    order.status = 'filled';
    order.fillPrice = price;
    order.filledAt = ts;
    const held = acct.positions.get(order.symbol) ?? { symbol: order.symbol, quantity: 0, averageCost: 0, realisedPnl: 0 };
    acct.positions.set(order.symbol, applyFill(held, order.side, order.quantity, price));
    acct.cash += order.side === 'buy' ? -order.quantity * price : order.quantity * price;
    this.marks.set(order.symbol, price);
    let equity = acct.cash;
    for (const p of acct.positions.values()) equity += p.quantity * (this.marks.get(p.symbol) ?? p.averageCost);
    acct.equity.push(equity);
  }

  private reject(user: string, input: unknown, status: 400 | 409, reason: string, now: number): never {
    this.audit.append({ ts: now, type: 'order_rejected', user, input, reason });
    throw new OrderRejected(status, reason);
  }

  private account(user: string): Account {
    let a = this.accounts.get(user);
    if (a === undefined) {
      a = { cash: this.startingCash, positions: new Map(), orders: [], equity: [this.startingCash] };
      this.accounts.set(user, a);
    }
    return a;
  }

  private replay(e: AuditEntry): void {
    if (e.type === 'order') {
      const order = { ...(e.order as Order), status: 'open' as const };
      this.account(order.user).orders.push(order);
      const list = this.resting.get(order.symbol) ?? [];
      list.push(order);
      this.resting.set(order.symbol, list);
      const n = Number(order.id.slice(1));
      if (n >= this.nextId) this.nextId = n + 1;
    } else if (e.type === 'fill' || e.type === 'order_rejected') {
      if (typeof e.orderId !== 'string') return;
      const order = this.accounts.get(e.user)?.orders.find((o) => o.id === e.orderId);
      if (order === undefined) return;
      const list = this.resting.get(order.symbol);
      const at = list?.indexOf(order) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (e.type === 'fill') this.applyFillTo(order, e.price as number, e.ts);
      else {
        order.status = 'rejected';
        order.reason = String(e.reason);
      }
    }
  }
}
