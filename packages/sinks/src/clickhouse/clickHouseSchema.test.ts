import { describe, expect, it } from 'vitest';
import { clickHouseCapabilities, clickHouseSchema, columnType, msToTime, timeToMs } from './clickHouseSchema.js';
import type { ClickHouseSchemaOptions } from './clickHouseSchema.js';

const options: ClickHouseSchemaOptions = { database: 'tickflow', timeframes: ['1m', '5m'], profileTimeframes: ['1m'], tickCountTimeframes: ['1m'], tradesTtlMs: 7 * 86_400_000 };

describe('clickHouseCapabilities', () => {
  it('gives ClickHouse 18.16 none of TTL, DateTime64 and LowCardinality', () => {
    expect(clickHouseCapabilities('18.16.1')).toEqual({ version: '18.16.1', ttl: false, dateTime64: false, lowCardinality: false });
  });

  it('switches each capability on at the version that brought it', () => {
    expect(clickHouseCapabilities('19.0.0').lowCardinality).toBe(true);
    expect(clickHouseCapabilities('19.5.3').ttl).toBe(false);
    expect(clickHouseCapabilities('19.6.1').ttl).toBe(true);
    expect(clickHouseCapabilities('20.4.9').dateTime64).toBe(false);
    expect(clickHouseCapabilities('20.5.2').dateTime64).toBe(true);
    expect(clickHouseCapabilities('26.1.2.1')).toMatchObject({ ttl: true, dateTime64: true, lowCardinality: true });
  });

  it('rejects a version it cannot read with the value in the message', () => {
    expect(() => clickHouseCapabilities('banana')).toThrow(/banana/);
  });
});

describe('clickHouseSchema', () => {
  it('builds the 18.16 schema with UInt64 epoch-ms times, String symbols and no TTL', () => {
    const s = clickHouseSchema(clickHouseCapabilities('18.16.1'), options);
    expect(s.statements[0]).toBe('CREATE DATABASE IF NOT EXISTS `tickflow`');
    expect(s.trades.ddl).toContain('`ts` UInt64');
    expect(s.trades.ddl).toContain('`symbol` String');
    expect(s.trades.ddl).toContain('ENGINE = ReplacingMergeTree\n');
    expect(s.trades.ddl).toContain('ORDER BY (symbol, ts, key)');
    expect(s.trades.ddl).toContain('PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000)))');
    expect(s.trades.ddl).not.toContain('TTL');
    expect(s.summary).toMatch(/no TTL/);
  });

  it('builds the modern schema with DateTime64, LowCardinality and a 7 day TTL on trades_raw', () => {
    const s = clickHouseSchema(clickHouseCapabilities('24.8.1'), options);
    expect(s.trades.ddl).toContain("`ts` DateTime64(3, 'UTC')");
    expect(s.trades.ddl).toContain('`symbol` LowCardinality(String)');
    expect(s.trades.ddl).toContain('TTL toDateTime(ts) + INTERVAL 7 DAY');
    expect(s.candles.get('1m')!.ddl).not.toContain('TTL');
  });

  it('leaves the TTL out when it is disabled', () => {
    expect(clickHouseSchema(clickHouseCapabilities('24.8.1'), { ...options, tradesTtlMs: undefined }).trades.ddl).not.toContain('TTL');
  });

  it('creates one ReplacingMergeTree(rev) table keyed (symbol, start) per configured timeframe', () => {
    const s = clickHouseSchema(clickHouseCapabilities('18.16.1'), options);
    expect([...s.candles.keys()]).toEqual(['1m', '5m']);
    expect(s.candles.get('5m')!.name).toBe('ohlc_5m');
    expect(s.volumeProfiles.get('1m')!.name).toBe('volume_profile_1m');
    expect(s.tickCounts.get('1m')!.name).toBe('tick_count_1m');
    for (const t of [...s.candles.values(), ...s.volumeProfiles.values(), ...s.tickCounts.values()]) {
      expect(t.ddl).toContain('ENGINE = ReplacingMergeTree(rev)');
      expect(t.ddl).toContain('ORDER BY (symbol, start)');
    }
    expect(s.volumeProfiles.get('1m')!.ddl).toContain('`level_price` Array(Float64)');
    expect(s.statements).toHaveLength(1 + 1 + 2 + 1 + 1);
  });

  it('refuses a timeframe that cannot name a table', () => {
    expect(() => clickHouseSchema(clickHouseCapabilities('18.16.1'), { ...options, timeframes: ['1 m; DROP'] })).toThrow(/cannot name a table/);
  });

  it('reads and compares times as epoch milliseconds on both kinds of servers', () => {
    const old = clickHouseCapabilities('18.16.1');
    const now = clickHouseCapabilities('24.8.1');
    expect(timeToMs('ts', old)).toBe('ts');
    expect(msToTime(1_000, old)).toBe('1000');
    expect(timeToMs('ts', now)).toBe('toUnixTimestamp64Milli(ts)');
    expect(msToTime(1_000, now)).toBe("fromUnixTimestamp64Milli(toInt64(1000), 'UTC')");
    expect(() => msToTime(1.5, now)).toThrow(/integer/);
    expect(columnType('side', old)).toBe("Enum8('none' = 0, 'buy' = 1, 'sell' = 2)");
  });
});
