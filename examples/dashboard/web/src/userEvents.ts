import { createUserEventEmitter } from '@tickflow/ws-server/client';
import type { UserEventEmitter } from '@tickflow/ws-server/client';
import type { Timeframe } from './types.js';

/** Errors reported per page load at most (a failing paint loop must not flood the server). */
const MAX_ERRORS = 10;

/**
 * The page's user events (POST /api/events through the SDK's batched
 * emitter): session start and page view at load, symbol selected and
 * timeframe changed on navigation, order form opened (first use of the form
 * per symbol), uncaught errors, and session end on `pagehide`. Sent every
 * 5 s, and with a `keepalive` fetch when the page is hidden or left, so the
 * last batch outlives the page (`navigator.sendBeacon` cannot send the
 * bearer token the endpoint needs).
 */
export class PageEvents {
  private readonly emitter: UserEventEmitter;
  private readonly started = Date.now();
  private errors = 0;
  private ended = false;
  private formSymbol = '';

  constructor(token: () => string | undefined | Promise<string | undefined>) {
    this.emitter = createUserEventEmitter({ url: '/api/events', token, client: 'web', flushInterval: 5_000, onError: () => undefined });
    const screen = globalThis.screen === undefined ? undefined : { width: Math.round(globalThis.screen.width), height: Math.round(globalThis.screen.height) };
    this.emitter.emit({ type: 'session_start', userAgent: navigator.userAgent.slice(0, 256), ...(screen === undefined ? {} : { screen }) });
    this.emitter.emit({ type: 'page_view', path: (location.pathname + location.hash).slice(0, 512), title: document.title.slice(0, 256), ...(document.referrer === '' ? {} : { referrer: document.referrer.slice(0, 512) }) });
    window.addEventListener('error', (e) => this.error(e.message || 'error', e.error instanceof Error ? e.error.stack : undefined, e.filename));
    window.addEventListener('unhandledrejection', (e) => this.error(e.reason instanceof Error ? e.reason.message : String(e.reason), e.reason instanceof Error ? e.reason.stack : undefined));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') void this.emitter.flush({ keepalive: true });
    });
    window.addEventListener('pagehide', () => {
      if (!this.ended) {
        this.ended = true;
        this.emitter.emit({ type: 'session_end', durationMs: Date.now() - this.started, reason: 'pagehide' });
      }
      void this.emitter.flush({ keepalive: true });
    });
  }

  /** The shown symbol or timeframe changed (`from` undefined at the first view, which is no user choice). */
  navigated(from: { symbol: string; timeframe: Timeframe } | undefined, to: { symbol: string; timeframe: Timeframe }): void {
    if (from === undefined) return;
    if (to.symbol !== from.symbol) this.emitter.emit({ type: 'symbol_selected', symbol: to.symbol });
    if (to.timeframe !== from.timeframe) this.emitter.emit({ type: 'timeframe_changed', symbol: to.symbol, from: from.timeframe, to: to.timeframe });
  }

  /** Emits `order_form_opened` the first time the form is used for a symbol (focus inside it). */
  watchOrderForm(form: HTMLElement, symbolOf: () => string): void {
    form.addEventListener('focusin', () => {
      const symbol = symbolOf();
      if (symbol === '' || symbol === this.formSymbol) return;
      this.formSymbol = symbol;
      this.emitter.emit({ type: 'order_form_opened', symbol });
    });
  }

  /** What was queued and sent (for the page hook and tests). */
  get stats(): UserEventEmitter['stats'] {
    return this.emitter.stats;
  }

  /** Sends what is queued now. */
  flush(): Promise<void> {
    return this.emitter.flush();
  }

  private error(message: string, stack: string | undefined, source?: string): void {
    if (++this.errors > MAX_ERRORS) return;
    this.emitter.emit({ type: 'error', message: message.slice(0, 1_000) || 'error', ...(stack === undefined ? {} : { stack: stack.slice(0, 4_000) }), ...(source === undefined || source === '' ? {} : { source: source.slice(0, 512) }) });
  }
}
