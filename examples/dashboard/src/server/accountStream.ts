import type { PaperBroker } from './paperBroker.js';

/** A row of a private channel: a record keyed by its string `id`. */
export type AccountRow = { readonly id: string; readonly [field: string]: unknown };

/** Sends rows to one user's private channel (the reference server passes WsServer.publishTo). */
export type AccountPublisher = (user: string, channel: 'user:orders' | 'user:portfolio', rows: readonly AccountRow[]) => void;

/**
 * Streams each user's account to their private WebSocket channels: the order
 * and the portfolio (`id: "portfolio"`) at every order change, and every
 * `markEvery` ms the portfolio of each user holding positions, marked at the
 * latest prices (the server sends only the fields that changed). Replaces
 * the page's polling of GET /api/orders and /api/portfolio.
 *
 * @example
 * ```ts
 * const feed = streamAccounts(broker, (user, channel, rows) => ws.publishTo(user, channel, rows));
 * feed.stop();
 * ```
 */
export function streamAccounts(broker: PaperBroker, publish: AccountPublisher, markEvery = 2_000): { stop(): void } {
  const portfolio = (user: string): void => publish(user, 'user:portfolio', [{ id: 'portfolio', ...broker.portfolio(user) }]);
  broker.onOrderChange((order) => {
    publish(order.user, 'user:orders', [{ ...order }]);
    portfolio(order.user);
  });
  const timer = setInterval(() => {
    try {
      for (const user of broker.usersWithPositions()) portfolio(user);
    } catch {
      // closing: the next tick (if any) tries again
    }
  }, markEvery);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      broker.onOrderChange(undefined);
    },
  };
}
