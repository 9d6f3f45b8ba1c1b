import type { Candle, Keyed, Output, PipelineBuilder, Trade, VolumeProfile } from '@tickflow/core';
import { collect, keyBy, map, pipeline } from '@tickflow/core';
import { describe, expectTypeOf, it } from 'vitest';
import { hopping, ohlcv, tumbling, volumeProfile } from '../src/index.js';

// These are compile-time checks (run by `npm run typecheck`); the `it` bodies also execute.
describe('pipeline staging in the types', () => {
  it('infers each stage: trades → keyed trades → candles', () => {
    const keyed = pipeline<Trade>().pipe(keyBy('symbol'));
    expectTypeOf(keyed).toEqualTypeOf<PipelineBuilder<Keyed<string, Trade>, Trade>>();
    const candles = keyed.pipe(tumbling({ size: '1m' }, ohlcv()));
    expectTypeOf(candles).toEqualTypeOf<PipelineBuilder<Candle, Trade, Keyed<string, Trade>>>();
    const out = collect<Candle>();
    candles.to(out);
    expectTypeOf<Parameters<typeof candles.to>[0]>().toMatchTypeOf<Output<Candle> | ((c: Candle) => void)>();
  });

  it('accepts windowing only on a keyed stream', () => {
    // @ts-expect-error tumbling needs keyBy first
    pipeline<Trade>().pipe(tumbling({ size: '1m' }, ohlcv()));
    // @ts-expect-error hopping needs keyBy first
    pipeline<Trade>().pipe(hopping({ size: '2m', hop: '1m' }, ohlcv()));
    // A map to a new shape after keyBy drops the key: windowing is refused again (a spread keeps it).
    pipeline<Trade>().pipe(keyBy('symbol'), map((t: Keyed<string, Trade>) => ({ ...t })), tumbling({ size: '1m' }, ohlcv()));
    // @ts-expect-error the key brand is lost by a map to a new object
    pipeline<Trade>().pipe(keyBy('symbol'), map((t: Keyed<string, Trade>) => ({ symbol: t.symbol, ts: t.ts, price: t.price, size: t.size })), tumbling({ size: '1m' }, ohlcv()));
  });

  it('accepts at .to() only an output of the stream type', () => {
    const profiles = pipeline<Trade>().pipe(keyBy('symbol'), tumbling({ size: '1m' }, volumeProfile({ step: 0.05 })));
    profiles.to((p: VolumeProfile) => void p.poc);
    // @ts-expect-error a candle output cannot take volume profiles
    profiles.to((c: Candle) => void c.close);
    // @ts-expect-error nor can an Output of candles
    profiles.to(collect<Candle>());
  });

  it('keys only by a string field or a function returning a string', () => {
    pipeline<Trade>().pipe(keyBy((t) => `${t.symbol}:${t.side ?? '-'}`));
    // @ts-expect-error price is not a string field
    pipeline<Trade>().pipe(keyBy('price'));
  });
});
