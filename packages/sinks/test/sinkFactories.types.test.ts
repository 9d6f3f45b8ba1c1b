import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { Sink } from '../src/index.js';
import { clickhouse } from '../src/clickhouse/index.js';
import type { ClickHouseStore } from '../src/clickhouse/index.js';
import { kafka } from '../src/kafka/index.js';
import { redis } from '../src/redis/index.js';
import type { RedisStore } from '../src/redis/index.js';
import { timescale } from '../src/timescale/index.js';
import type { TimescaleStore } from '../src/timescale/index.js';

// Type tests of the one factory shape (checked by `npm run typecheck`, which
// compiles test/): every `store({ ...storeOptions, ...sinkOptions, kind })`
// and every `store.sink(kind, sinkOptions)` returns a `Sink` of that kind's
// rows. The factories are never called here (nothing connects).

describe('sink factories', () => {
  it('return a Sink of the kind of rows asked for, for every store', () => {
    expectTypeOf(() => clickhouse({ url: 'http://127.0.0.1:8123', kind: 'candles' })).returns.toEqualTypeOf<Sink<Candle>>();
    expectTypeOf(() => clickhouse({ url: 'http://127.0.0.1:8123', kind: 'trades', maxBatchSize: 10 })).returns.toEqualTypeOf<Sink<Trade>>();
    expectTypeOf(() => timescale({ url: 'postgres://127.0.0.1/db', kind: 'volumeProfiles' })).returns.toEqualTypeOf<Sink<VolumeProfile>>();
    expectTypeOf(() => timescale({ url: 'postgres://127.0.0.1/db', kind: 'tickCounts' })).returns.toEqualTypeOf<Sink<TickCount>>();
    expectTypeOf(() => redis({ url: 'redis://127.0.0.1:6379', kind: 'quotes' })).returns.toEqualTypeOf<Sink<Quote>>();
    expectTypeOf(() => redis({ url: 'redis://127.0.0.1:6379', kind: 'candles' })).returns.toEqualTypeOf<Sink<Candle>>();
    expectTypeOf(() => kafka({ brokers: ['127.0.0.1:9092'], kind: 'tickCounts' })).returns.toEqualTypeOf<Sink<TickCount>>();
  });

  it('give the same shape from a connected store', () => {
    expectTypeOf((s: ClickHouseStore) => s.sink('candles')).returns.toEqualTypeOf<Sink<Candle>>();
    expectTypeOf((s: TimescaleStore) => s.sink('trades', { maxBatchAge: '1s' })).returns.toEqualTypeOf<Sink<Trade>>();
    expectTypeOf((s: RedisStore) => s.sink('volumeProfiles')).returns.toEqualTypeOf<Sink<VolumeProfile>>();
  });

  it('reject kinds a store does not take', () => {
    // @ts-expect-error Kafka sinks publish windows, not raw trades
    void (() => kafka({ brokers: ['127.0.0.1:9092'], kind: 'trades' }));
    // @ts-expect-error quotes are kept by Redis only
    void (() => timescale({ url: 'postgres://127.0.0.1/db', kind: 'quotes' }));
    // @ts-expect-error a candle sink does not take trades
    void ((s: Sink<Candle>, t: Trade) => s.write([t]));
  });
});
