/** What a Redis key holds: the latest trade, the trade history, the quote state, or the latest window of a kind. */
export type RedisKeyKind = 'price' | 'priceHistory' | 'quotes' | 'candle' | 'tickCount' | 'volumeProfile';

/**
 * The key of `kind` for a symbol (and timeframe), after `prefix`.
 *
 * @example
 * ```ts
 * redisKey('app:', 'candle', 'AAPL', '1m'); // 'app:ohlc:AAPL:1m'
 * ```
 */
export function redisKey(prefix: string, kind: RedisKeyKind, symbol: string, timeframe?: string): string {
  const p = prefix;
  switch (kind) {
    case 'price':
      return `${p}price:${symbol}`;
    case 'priceHistory':
      return `${p}price_history:${symbol}`;
    case 'quotes':
      return `${p}quotes:${symbol}`;
    case 'candle':
      return `${p}ohlc:${symbol}:${timeframe!}`;
    case 'tickCount':
      return `${p}ticks:${symbol}:${timeframe!}`;
    case 'volumeProfile':
      return `${p}profile:${symbol}:${timeframe!}`;
  }
}
