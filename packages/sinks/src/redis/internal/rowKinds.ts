import { TickflowError } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { candleProblem, quoteProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from '../../rowValidation.js';

/** Row type of each sink kind the Redis store writes. */
export interface RedisRows {
  trades: Trade;
  quotes: Quote;
  candles: Candle;
  tickCounts: TickCount;
  volumeProfiles: VolumeProfile;
}

/** A kind of rows the Redis store writes: `'trades'`, `'quotes'`, `'candles'`, `'tickCounts'`, `'volumeProfiles'`. */
export type RedisSinkKind = keyof RedisRows;

const VALIDATORS: { [K in RedisSinkKind]: (row: RedisRows[K]) => string | undefined } = {
  trades: tradeProblem,
  quotes: quoteProblem,
  candles: candleProblem,
  tickCounts: tickCountProblem,
  volumeProfiles: volumeProfileProblem,
};

/** The row check of a kind; throws INVALID_ARGUMENT for an unknown kind. */
export function validatorOf<K extends RedisSinkKind>(kind: K): (row: RedisRows[K]) => string | undefined {
  if (typeof kind !== 'string' || !Object.hasOwn(VALIDATORS, kind)) {
    throw new TickflowError('INVALID_ARGUMENT', `redis: unknown sink kind ${JSON.stringify(kind)}; use one of ${Object.keys(VALIDATORS).join(', ')}`);
  }
  return VALIDATORS[kind];
}
