// Shapes of the REST answers the page reads (see the server's OpenAPI at /api/docs).
export type { Candle, Quote, Trade, VolumeProfile } from '@tickflow/core';
export type { TickerRow } from '@tickflow/ws-server/client';

/** A role of the reference server, weakest first. */
export type Role = 'viewer' | 'trader' | 'admin';

/** POST /api/auth/login, /api/auth/guest and /api/auth/refresh. */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly role: Role;
}

/** A paper order (GET /api/orders, POST /api/orders). */
export interface Order {
  readonly id: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: 'market' | 'limit';
  readonly quantity: number;
  readonly limitPrice?: number;
  readonly createdAt: number;
  readonly status: 'open' | 'filled' | 'rejected';
  readonly fillPrice?: number;
  readonly reason?: string;
}

/** GET /api/portfolio. */
export interface Portfolio {
  readonly user: string;
  readonly cash: number;
  readonly equity: number;
  readonly realisedPnl: number;
  readonly unrealisedPnl: number;
  readonly positions: readonly {
    readonly symbol: string;
    readonly quantity: number;
    readonly averageCost: number;
    readonly mark: number;
    readonly marketValue: number;
    readonly unrealisedPnl: number;
    readonly realisedPnl: number;
  }[];
  readonly performance: { readonly totalReturn: number; readonly maxDrawdown: number; readonly volatility: number };
}

/** The chart's timeframes (the server streams `candles:SYM:TF` for each). */
export const TIMEFRAMES = ['1m', '5m', '15m', '1h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];
