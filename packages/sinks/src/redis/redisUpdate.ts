import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';

/**
 * One message on the store's pub/sub channel (default `tickflow:updates`),
 * JSON-encoded, one per written batch and kind, for the WebSocket fan-out
 * between API nodes:
 *
 * - `{ "type": "trades", "items": Trade[] }`: every trade of the batch, in order.
 * - `{ "type": "quotes", "items": Quote[] }`: every quote of the batch, in order.
 * - `{ "type": "candles" | "tickCounts" | "volumeProfiles", "items": [...] }`:
 *   the windows of the batch that became the latest of their key, in order;
 *   a stale or replayed row that did not replace a newer one is not sent.
 *
 * Delivery is at least once (a retried or replayed batch is published
 * again); window items carry `start` and `rev`, so a receiver keeps the
 * highest `(start, rev)` per `(symbol, timeframe)`, as the store does.
 */
export type RedisUpdate =
  | { readonly type: 'trades'; readonly items: readonly Trade[] }
  | { readonly type: 'quotes'; readonly items: readonly Quote[] }
  | { readonly type: 'candles'; readonly items: readonly Candle[] }
  | { readonly type: 'tickCounts'; readonly items: readonly TickCount[] }
  | { readonly type: 'volumeProfiles'; readonly items: readonly VolumeProfile[] };

const TYPES = new Set(['trades', 'quotes', 'candles', 'tickCounts', 'volumeProfiles']);

/**
 * Parses a message from the updates channel; returns undefined for anything
 * that is not a tickflow update (other publishers may share the channel).
 *
 * @example
 * ```ts
 * const update = parseRedisUpdate('{"type":"trades","items":[]}');
 * if (update?.type === 'trades') console.log(update.items.length); // 0
 * ```
 */
export function parseRedisUpdate(message: string): RedisUpdate | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { type, items } = value as { type?: unknown; items?: unknown };
  if (typeof type !== 'string' || !TYPES.has(type) || !Array.isArray(items)) return undefined;
  return value as RedisUpdate;
}
