import type { Candle, Trade } from '@tickflow/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { RangeStore, Sink } from '../src/index.js';
import type { ClickHouseStore } from '../src/clickhouse/index.js';
import type { RedisStore } from '../src/redis/index.js';
import type { TimescaleStore } from '../src/timescale/index.js';

// Type tests of the RangeStore contract (checked by `npm run typecheck`,
// which compiles test/; each `@ts-expect-error` fails the typecheck if the
// misuse compiles again).

/** What the dashboard does with a range store: reads through the contract only. */
function readsThrough(store: RangeStore): Promise<Candle[]> {
  return store.readCandles({ symbol: 'AAPL', timeframe: '1m', from: 0, to: 60_000, limit: 10 });
}

describe('RangeStore', () => {
  it('is what the ClickHouse and the Timescale store are', () => {
    expectTypeOf<ClickHouseStore>().toExtend<RangeStore>();
    expectTypeOf<TimescaleStore>().toExtend<RangeStore>();
    expectTypeOf(readsThrough).parameter(0).toEqualTypeOf<RangeStore>();
  });

  it('gives typed sinks per kind', () => {
    expectTypeOf<ReturnType<RangeStore['readTrades']>>().toEqualTypeOf<Promise<Trade[]>>();
    const sinkOf = (store: RangeStore) => store.sink('candles');
    expectTypeOf(sinkOf).returns.toEqualTypeOf<Sink<Candle>>();
  });

  it('rejects stores that are not range stores', () => {
    const redis = undefined as unknown as RedisStore;
    // @ts-expect-error the Redis store keeps the latest windows only: it has no range reads of candles
    void (() => readsThrough(redis));

    const noClose = undefined as unknown as Omit<TimescaleStore, 'close'>;
    // @ts-expect-error a store without close() cannot be released
    void (() => readsThrough(noClose));

    const wrongRows = undefined as unknown as Omit<ClickHouseStore, 'readCandles'> & { readCandles(range: { timeframe: string }): Promise<Trade[]> };
    // @ts-expect-error readCandles must give candles
    void (() => readsThrough(wrongRows));

    // @ts-expect-error a candle read needs a timeframe
    void ((store: RangeStore) => store.readCandles({ symbol: 'AAPL', from: 0, to: 1 }));

    // @ts-expect-error sinks exist for trades, candles, volumeProfiles and tickCounts only
    void ((store: RangeStore) => store.sink('quotes'));
  });
});
