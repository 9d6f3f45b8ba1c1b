import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCandle, decodeTickCount, decodeTrade, decodeVolumeProfile, encodeCandle, encodeTickCount, encodeTrade, encodeVolumeProfile } from './clickHouseRows.js';
import { RowBinaryReader, RowBinaryWriter } from './rowBinary.js';

describe('RowBinaryWriter', () => {
  it('writes strings as LEB128 length and UTF-8 bytes, numbers little-endian', () => {
    const w = new RowBinaryWriter(1);
    w.string('AB');
    w.u64(2 ** 32 + 1);
    w.u32(7);
    w.nullableF64(undefined);
    w.nullableF64(1);
    expect([...w.finish()]).toEqual([2, 65, 66, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('round-trips strings of any length and alphabet, and integers up to 2^53', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.maxSafeNat(), fc.double())), (rows) => {
        const w = new RowBinaryWriter(8);
        for (const [s, n, d] of rows) {
          w.string(s);
          w.u64(n);
          w.f64(d);
        }
        const r = new RowBinaryReader(w.finish());
        for (const [s, n, d] of rows) {
          expect(r.string()).toBe(s);
          expect(r.u64()).toBe(n);
          expect(Object.is(r.f64(), d)).toBe(true);
        }
        expect(r.done).toBe(true);
      }),
    );
  });

  it('reports truncated data instead of returning garbage', () => {
    const w = new RowBinaryWriter();
    w.string('hello');
    expect(() => new RowBinaryReader(w.finish().subarray(0, 3)).string()).toThrow(/truncated/);
  });
});

describe('ClickHouse row codecs', () => {
  it('round-trips every kind of row exactly', () => {
    const trades: Trade[] = [
      { symbol: 'AAPL', ts: 1_705_674_600_001, price: 150.25, size: 300, side: 'buy', id: 'X1', bid: 150.24, ask: 150.26 },
      { symbol: 'MSFT', ts: 1_705_674_600_002, price: 0.1 + 0.2, size: 0 },
    ];
    const candle: Candle = { symbol: 'AAPL', timeframe: '1m', start: 60_000, end: 120_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, trades: 3, vwap: 1.2345678901234567, buyVolume: 4, sellVolume: 6, final: true, rev: 2 };
    const profile: VolumeProfile = {
      symbol: 'AAPL', timeframe: '1m', start: 60_000, end: 120_000, bucket: 0.5,
      levels: [{ price: 1, volume: 3, buyVolume: 1, sellVolume: 2 }, { price: 1.5, volume: 7, buyVolume: 7, sellVolume: 0 }],
      volume: 10, poc: 1.5, valueAreaLow: 1.5, valueAreaHigh: 1.5, valueAreaVolume: 7, final: false, rev: 1,
    };
    const ticks: TickCount = { symbol: 'AAPL', timeframe: '1m', start: 60_000, end: 120_000, trades: 3, buyTrades: 1, sellTrades: 2, final: true, rev: 1 };
    const w = new RowBinaryWriter();
    for (const t of trades) encodeTrade(w, t, t.id ?? 'k');
    encodeCandle(w, candle);
    encodeVolumeProfile(w, profile);
    encodeTickCount(w, ticks);
    const r = new RowBinaryReader(w.finish());
    expect([decodeTrade(r), decodeTrade(r)]).toStrictEqual(trades);
    expect(decodeCandle(r, '1m')).toStrictEqual(candle);
    expect(decodeVolumeProfile(r, '1m')).toStrictEqual(profile);
    expect(decodeTickCount(r, '1m')).toStrictEqual(ticks);
    expect(r.done).toBe(true);
  });
});
