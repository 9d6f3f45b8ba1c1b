import { createClient } from '@tickflow/ws-server/client';
import type { TickflowClient } from '@tickflow/ws-server/client';
import type { Api, Session } from './api.js';
import { ApiError } from './api.js';
import { direction, formatMoney, formatPercent, formatPnl, formatPrice, formatQuantity, formatTime } from './format.js';
import type { Order, Portfolio } from './types.js';

/** An order as the account panel shows it (the server also reports cancelled ones). */
type AccountOrder = Omit<Order, 'status'> & { readonly status: Order['status'] | 'cancelled' };

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}

function words(e: unknown): string {
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

function cell(tr: HTMLTableRowElement, text: string, className = ''): void {
  const td = tr.insertCell();
  td.textContent = text;
  if (className !== '') td.className = className;
}

/**
 * The account panel: the login form for guests; for traders the portfolio
 * (cash, equity, P&L, positions), the order form (market or limit, on the
 * shown symbol) and the order history with a cancel button on each resting
 * order. Orders and portfolio come live from the user's private WebSocket
 * channels (`user:orders`, `user:portfolio`), after one REST fetch when the
 * channel connects (and reconnects). API errors are shown in words.
 */
export class AccountPanel {
  private readonly loginForm = el<HTMLFormElement>('login-form');
  private readonly loginError = el<HTMLElement>('login-error');
  private readonly panel = el<HTMLElement>('portfolio');
  private readonly who = el<HTMLElement>('who');
  private readonly summary = el<HTMLElement>('summary');
  private readonly positions = el<HTMLTableSectionElement>('positions-body');
  private readonly orders = el<HTMLTableSectionElement>('orders-body');
  private readonly orderForm = el<HTMLFormElement>('order-form');
  private readonly orderMessage = el<HTMLElement>('order-message');
  private readonly orderSymbol = el<HTMLElement>('order-symbol');
  private readonly limitPrice = el<HTMLInputElement>('order-limit');
  /** The live connection of the signed-in trader (its own, for the private channels), and whose it is. */
  private live: TickflowClient | undefined;
  private liveUser = '';
  /** The orders shown, by id: the REST fetch, updated by the channel. */
  private readonly known = new Map<string, AccountOrder>();

  constructor(
    private readonly api: Api,
    private readonly symbol: () => string,
    private readonly lastPrice: (symbol: string) => number | undefined,
    private readonly onSignedIn: (s: Session) => void,
  ) {
    this.loginForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.login();
    });
    el<HTMLButtonElement>('logout').addEventListener('click', () => void this.logout());
    this.orderForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.placeOrder();
    });
    this.orders.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-cancel]');
      if (button !== null) void this.cancel(button);
    });
    const type = this.orderForm.elements.namedItem('type') as HTMLSelectElement;
    type.addEventListener('change', () => {
      const limit = type.value === 'limit';
      this.limitPrice.closest('label')!.hidden = !limit;
      this.limitPrice.required = limit;
      if (limit && this.limitPrice.value === '') {
        const p = this.lastPrice(this.symbol());
        if (p !== undefined) this.limitPrice.value = p.toFixed(2);
      }
    });
  }

  /** Shows the panel of a session: login form for guests, portfolio for signed-in users. */
  showSession(s: Session | undefined): void {
    const signedIn = s !== undefined && !s.guest;
    this.loginForm.hidden = signedIn;
    this.panel.hidden = !signedIn;
    if (!signedIn || s.role === 'viewer' || s.username !== this.liveUser) this.stopLive();
    if (!signedIn) return;
    this.who.textContent = `${s.username} (${s.role})`;
    if (s.role === 'viewer') {
      this.orderForm.hidden = true;
      this.summary.textContent = `${s.username} is a viewer: viewers see market data but cannot trade. Log out and log in as trader / trader to trade.`;
      this.positions.replaceChildren();
      this.orders.replaceChildren();
      return;
    }
    this.orderForm.hidden = false;
    if (this.live === undefined) this.startLive(s.username);
  }

  /** Opens the trader's own connection to the private channels; the first fetch runs when it opens (and again after a reconnect). */
  private startLive(username: string): void {
    this.liveUser = username;
    this.known.clear();
    this.orders.replaceChildren();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const c = createClient({ url, token: () => this.api.token(), reauthenticate: () => this.api.reauthenticate(), batchInterval: 100 });
    this.live = c;
    c.on('status', (st) => {
      if (this.live === c && st === 'open') void this.refresh();
    });
    c.subscribe('user:orders', (u) => {
      if (this.live !== c) return;
      for (const o of u.changed as unknown as AccountOrder[]) this.known.set(o.id, o);
      this.paintOrders();
    });
    c.subscribe('user:portfolio', (u) => {
      const p = u.rows.find((r) => r.id === 'portfolio');
      if (this.live === c && p !== undefined) this.paintPortfolio(p as unknown as Portfolio);
    });
  }

  private stopLive(): void {
    this.live?.close();
    this.live = undefined;
    this.liveUser = '';
  }

  /** The shown symbol changed (the order form trades it). */
  symbolChanged(symbol: string): void {
    this.orderSymbol.textContent = symbol;
    this.limitPrice.value = '';
  }

  private async login(): Promise<void> {
    const data = new FormData(this.loginForm);
    const button = this.loginForm.querySelector('button')!;
    button.disabled = true;
    this.loginError.textContent = '';
    try {
      const s = await this.api.login(String(data.get('username') ?? ''), String(data.get('password') ?? ''));
      (this.loginForm.elements.namedItem('password') as HTMLInputElement).value = '';
      this.onSignedIn(s);
    } catch (e) {
      this.loginError.textContent = e instanceof ApiError && e.status === 401 ? 'Wrong username or password (demo users: trader / trader, viewer / viewer).' : `Could not log in: ${words(e)}`;
    } finally {
      button.disabled = false;
    }
  }

  private async logout(): Promise<void> {
    try {
      this.onSignedIn(await this.api.logout());
    } catch (e) {
      this.loginError.textContent = `Signed out, but no guest session: ${words(e)}`;
      this.showSession(undefined);
    }
  }

  private async placeOrder(): Promise<void> {
    const f = this.orderForm.elements;
    const side = (f.namedItem('side') as HTMLSelectElement).value as 'buy' | 'sell';
    const type = (f.namedItem('type') as HTMLSelectElement).value as 'market' | 'limit';
    const quantity = Number((f.namedItem('quantity') as HTMLInputElement).value);
    const symbol = this.symbol();
    const body: Record<string, unknown> = { symbol, side, type, quantity };
    if (type === 'limit') body.limitPrice = Number(this.limitPrice.value);
    const button = this.orderForm.querySelector('button')!;
    button.disabled = true;
    this.orderMessage.className = 'message';
    this.orderMessage.textContent = 'Placing order…';
    try {
      const o = await this.api.post<Order>('/api/orders', body);
      this.orderMessage.textContent =
        o.status === 'filled'
          ? `Order ${o.id} filled: ${o.side} ${formatQuantity(o.quantity)} ${o.symbol} at ${formatPrice(o.fillPrice ?? 0)}.`
          : o.status === 'open'
            ? `Order ${o.id} is open: ${o.side} ${formatQuantity(o.quantity)} ${o.symbol} at limit ${formatPrice(o.limitPrice ?? 0)}.`
            : `Order ${o.id} rejected: ${o.reason ?? 'no reason given'}.`;
      // The answer is newer than nothing the channel can bring: shown at once, the channel updates it later.
      this.known.set(o.id, o);
      this.paintOrders();
    } catch (e) {
      this.orderMessage.className = 'message error';
      this.orderMessage.textContent = `Order not placed: ${words(e)}`;
    } finally {
      button.disabled = false;
    }
  }

  /** Cancels a resting order (DELETE /api/orders/:id); the channel brings the new status. */
  private async cancel(button: HTMLButtonElement): Promise<void> {
    const id = button.dataset.cancel ?? '';
    button.disabled = true;
    this.orderMessage.className = 'message';
    try {
      const res = await fetch(`/api/orders/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${await this.api.token()}` } });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
      }
      const o = (await res.json()) as AccountOrder;
      this.orderMessage.textContent = `Order ${o.id} cancelled.`;
      this.known.set(o.id, o);
      this.paintOrders();
    } catch (e) {
      this.orderMessage.className = 'message error';
      this.orderMessage.textContent = `Order ${id} not cancelled: ${words(e)}`;
      button.disabled = false;
    }
  }

  /** One REST read of portfolio and orders: when the live channel (re)connects; the channel brings every change after it. */
  private async refresh(): Promise<void> {
    const s = this.api.session;
    if (s === undefined || s.guest || s.role === 'viewer') return;
    try {
      const [p, o] = await Promise.all([this.api.get<Portfolio>('/api/portfolio'), this.api.get<{ orders: AccountOrder[] }>('/api/orders')]);
      this.paintPortfolio(p);
      // What the channel already brought is at least as new as this answer.
      const live = new Set(this.live?.rows('user:orders')?.map((r) => r.id) ?? []);
      for (const x of o.orders) if (!live.has(x.id)) this.known.set(x.id, x);
      this.paintOrders();
    } catch (e) {
      this.summary.textContent = `Portfolio unavailable: ${words(e)}`;
    }
  }

  private paintPortfolio(p: Portfolio): void {
    const rows: [string, string, string][] = [
      ['Cash', formatMoney(p.cash), ''],
      ['Equity', formatMoney(p.equity), ''],
      ['Unrealised P&L', formatPnl(p.unrealisedPnl), direction(p.unrealisedPnl)],
      ['Realised P&L', formatPnl(p.realisedPnl), direction(p.realisedPnl)],
      ['Return', formatPercent(p.performance.totalReturn * 100), direction(p.performance.totalReturn)],
    ];
    const dl = document.createElement('dl');
    for (const [k, v, cls] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      if (cls !== '') dd.className = cls;
      dl.append(dt, dd);
    }
    this.summary.replaceChildren(dl);
    const trs = p.positions
      .filter((x) => x.quantity !== 0)
      .map((x) => {
        const tr = document.createElement('tr');
        tr.dataset.symbol = x.symbol;
        cell(tr, x.symbol);
        cell(tr, formatQuantity(x.quantity), 'num');
        cell(tr, formatPrice(x.averageCost), 'num');
        cell(tr, formatPrice(x.mark), 'num');
        cell(tr, formatPnl(x.unrealisedPnl), `num ${direction(x.unrealisedPnl)}`);
        return tr;
      });
    if (trs.length === 0) {
      const tr = document.createElement('tr');
      cell(tr, 'No positions yet: place an order below.', 'empty');
      tr.cells[0]!.colSpan = 5;
      trs.push(tr);
    }
    this.positions.replaceChildren(...trs);
  }

  /** The newest 20 orders; a resting one has a cancel button. */
  private paintOrders(): void {
    const orders = [...this.known.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const trs = orders.slice(0, 20).map((o) => {
      const tr = document.createElement('tr');
      tr.title = o.reason ?? '';
      tr.dataset.order = o.id;
      tr.dataset.status = o.status;
      cell(tr, formatTime(o.createdAt));
      cell(tr, `${o.side} ${o.symbol}`, o.side === 'buy' ? 'up' : 'down');
      cell(tr, o.type === 'limit' ? `limit ${formatPrice(o.limitPrice ?? 0)}` : 'market');
      cell(tr, formatQuantity(o.quantity), 'num');
      cell(tr, o.status === 'filled' ? `filled ${formatPrice(o.fillPrice ?? 0)}` : o.status === 'rejected' ? `rejected: ${o.reason ?? ''}` : o.status);
      if (o.status === 'open') {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link';
        button.dataset.cancel = o.id;
        button.textContent = 'Cancel';
        button.setAttribute('aria-label', `Cancel order ${o.id}`);
        tr.insertCell().append(button);
      }
      return tr;
    });
    this.orders.replaceChildren(...trs);
  }
}
