import type { Trade } from '@tickflow/core';
import type { AuditEntry, AuditTrail } from './auditLog.js';
import type { Order, OrderInput } from './orderInput.js';
import { OrderRejected } from './orderInput.js';
import type { Performance, Position } from './portfolio.js';
import { applyFill, money, performance, price6, unrealisedPnl } from './portfolio.js';
import { SymbolBook } from './symbolBook.js';

// The order schema and types (orderInput.ts) and the account streaming (accountStream.ts), for this module's importers.
export { OrderInputSchema, OrderRejected } from './orderInput.js';
export type { Order, OrderInput } from './orderInput.js';
export { streamAccounts } from './accountStream.js';
export type { AccountPublisher, AccountRow } from './accountStream.js';

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
  /** Cash held by resting buys (quantity × limit price each). */
  reservedCash: number;
  /** Shares held by resting sells, per symbol. */
  readonly reservedShares: Map<string, number>;
  /** Resting limit orders. */
  resting: number;
  readonly positions: Map<string, Position>;
  readonly orders: Order[];
  readonly equity: number[];
}

/** Resting limit orders one user may have open at once. */
export const MAX_RESTING_ORDERS = 100;

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
  private readonly books = new Map<string, SymbolBook>();
  private readonly crossedScratch: Order[] = [];
  private readonly marks = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly audit: AuditTrail,
    private readonly startingCash = 100_000,
    private readonly priceOf: (symbol: string) => number | undefined = () => undefined,
    private readonly maxResting = MAX_RESTING_ORDERS,
  ) {
    for (const e of audit.loaded) this.replay(e);
    this.openById.clear();
  }

  /** Open orders by id while replaying (a fill finds its order without scanning the user's history). */
  private readonly openById = new Map<string, Order>();

  /** Places an order; throws OrderRejected with a clear message when it cannot be accepted. */
  place(user: string, input: OrderInput, now = Date.now()): Order {
    const price = this.priceOf(input.symbol);
    if (price === undefined) return this.reject(user, input, 400, `unknown symbol "${input.symbol}": no trade seen yet; GET /api/symbols lists the symbols`, now);
    const acct = this.account(user);
    if (input.side === 'sell') {
      const held = acct.positions.get(input.symbol)?.quantity ?? 0;
      const reserved = acct.reservedShares.get(input.symbol) ?? 0;
      if (input.quantity > held - reserved) {
        return this.reject(user, input, 400, `cannot sell ${input.quantity} ${input.symbol}: ${held - reserved} held and not already offered (paper trading is long only)`, now);
      }
    }
    const marketable = input.type === 'market' || (input.side === 'buy' ? price <= input.limitPrice! : price >= input.limitPrice!);
    const available = money(acct.cash - acct.reservedCash);
    if (input.side === 'buy' && marketable && input.quantity * price > available) {
      return this.reject(user, input, 400, `insufficient cash: ${input.quantity} ${input.symbol} at ${price} costs ${money(input.quantity * price)}, available cash is ${available} (${acct.reservedCash} held by open buy orders)`, now);
    }
    if (!marketable) {
      if (acct.resting >= this.maxResting) {
        return this.reject(user, input, 409, `too many open limit orders: at most ${this.maxResting} per user; cancel one (DELETE /api/orders/{id}) or wait for fills`, now);
      }
      if (input.side === 'buy' && input.quantity * input.limitPrice! > available) {
        return this.reject(user, input, 400, `insufficient cash: a limit buy of ${input.quantity} ${input.symbol} at ${input.limitPrice} holds ${money(input.quantity * input.limitPrice!)}, available cash is ${available} (${acct.reservedCash} held by open buy orders)`, now);
      }
    }
    const order: Order = { ...input, id: `o${this.nextId++}`, user, createdAt: now, status: 'open' };
    this.audit.append({ ts: now, type: 'order', user, order });
    acct.orders.push(order);
    if (marketable) this.fill(order, price, now);
    else this.rest(order);
    this.changed(order);
    return order;
  }

  /**
   * Cancels a resting limit order of `user`. Throws OrderRejected: 404 when
   * `user` has no order with that id (another user's order is unknown too),
   * 409 when it is no longer open (filled, rejected or already cancelled).
   */
  cancel(user: string, orderId: string, now = Date.now()): Order {
    const order = this.accounts.get(user)?.orders.find((o) => o.id === orderId);
    if (order === undefined) throw new OrderRejected(404, `no order ${orderId.slice(0, 32)} of yours: GET /api/orders lists them`);
    if (order.status !== 'open') throw new OrderRejected(409, `order ${order.id} is ${order.status}: only open limit orders can be cancelled`);
    this.audit.append({ ts: now, type: 'order_cancelled', user, orderId });
    this.unrest(order);
    order.status = 'cancelled';
    this.changed(order);
    return order;
  }

  /**
   * Listens to order changes (placed, filled, rejected while resting,
   * cancelled): called after each, with the order as it is now. One
   * listener; the reference server forwards them to the user's private
   * WebSocket channels.
   */
  onOrderChange(listener: ((order: Order) => void) | undefined): void {
    this.listener = listener;
  }

  private listener: ((order: Order) => void) | undefined;

  private changed(order: Order): void {
    try {
      this.listener?.(order);
    } catch {
      // a listener's failure must not undo an order that is already in the audit trail
    }
  }

  /** Users who hold a position (their portfolio's value moves with the market). */
  usersWithPositions(): string[] {
    const out: string[] = [];
    for (const [user, a] of this.accounts) {
      for (const p of a.positions.values()) {
        if (p.quantity !== 0) {
          out.push(user);
          break;
        }
      }
    }
    return out;
  }

  /** Resting limit orders (all users), for tests and metrics. */
  restingCount(): number {
    let n = 0;
    for (const b of this.books.values()) n += b.size;
    return n;
  }

  /** Cash held by a user's resting buys. */
  reservedCash(user: string): number {
    return this.accounts.get(user)?.reservedCash ?? 0;
  }

  private rest(order: Order): void {
    let book = this.books.get(order.symbol);
    if (book === undefined) this.books.set(order.symbol, (book = new SymbolBook()));
    book.add(order);
    this.hold(order, 1);
  }

  /** Takes an order off the book (cancel, or a replayed fill): releases what it held. */
  private unrest(order: Order): void {
    if (this.books.get(order.symbol)?.remove(order) === true) this.hold(order, -1);
  }

  private hold(order: Order, sign: 1 | -1): void {
    const acct = this.account(order.user);
    acct.resting += sign;
    if (order.side === 'buy') {
      // Back to exactly 0 when nothing rests (no drift from float sums).
      acct.reservedCash = acct.resting === 0 ? 0 : Math.max(0, money(acct.reservedCash + sign * money(order.quantity * order.limitPrice!)));
    } else {
      const n = (acct.reservedShares.get(order.symbol) ?? 0) + sign * order.quantity;
      if (n <= 0) acct.reservedShares.delete(order.symbol);
      else acct.reservedShares.set(order.symbol, n);
    }
  }

  /** Feeds live trades: updates marks and fills resting limit orders the price crosses. */
  onTrades(batch: readonly Trade[]): void {
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i]!;
      this.marks.set(t.symbol, t.price);
      const book = this.books.get(t.symbol);
      if (book === undefined || book.size === 0) continue;
      const crossed = this.crossedScratch;
      crossed.length = 0;
      book.crossed(t.price, crossed);
      for (let j = 0; j < crossed.length; j++) {
        const o = crossed[j]!;
        this.hold(o, -1);
        const acct = this.account(o.user);
        // The order held quantity × limit ≥ quantity × price; an order restored from an older journal may not have.
        if (o.side === 'buy' && o.quantity * t.price > acct.cash - acct.reservedCash) {
          o.status = 'rejected';
          o.reason = `insufficient cash when the limit was reached (${money(o.quantity * t.price)} > ${money(acct.cash - acct.reservedCash)})`;
          this.audit.append({ ts: t.ts, type: 'order_rejected', user: o.user, orderId: o.id, reason: o.reason });
        } else this.fill(o, t.price, t.ts);
        this.changed(o);
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
      positions.push({ ...p, averageCost: price6(p.averageCost), realisedPnl: money(p.realisedPnl), mark, marketValue: money(p.quantity * mark), unrealisedPnl: money(u) });
    }
    positions.sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
    return {
      user,
      cash: money(acct.cash),
      startingCash: this.startingCash,
      equity: money(equity),
      realisedPnl: money(realised),
      unrealisedPnl: money(unrealised),
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
    // Cash is kept in whole cents: no float noise in balances or messages.
    acct.cash = money(acct.cash + (order.side === 'buy' ? -1 : 1) * money(order.quantity * price));
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
      a = { cash: this.startingCash, reservedCash: 0, reservedShares: new Map(), resting: 0, positions: new Map(), orders: [], equity: [this.startingCash] };
      this.accounts.set(user, a);
    }
    return a;
  }

  private replay(e: AuditEntry): void {
    if (e.type === 'order') {
      const order = { ...(e.order as Order), status: 'open' as const };
      this.account(order.user).orders.push(order);
      this.openById.set(order.id, order);
      if (order.type === 'limit') this.rest(order);
      const n = Number(order.id.slice(1));
      if (n >= this.nextId) this.nextId = n + 1;
    } else if (e.type === 'fill' || e.type === 'order_rejected' || e.type === 'order_cancelled') {
      if (typeof e.orderId !== 'string') return;
      const order = this.openById.get(e.orderId);
      if (order === undefined || order.user !== e.user) return;
      this.openById.delete(e.orderId);
      if (order.type === 'limit') this.unrest(order);
      if (e.type === 'fill') this.applyFillTo(order, e.price as number, e.ts);
      else if (e.type === 'order_cancelled') order.status = 'cancelled';
      else {
        order.status = 'rejected';
        order.reason = String(e.reason);
      }
    }
  }
}
