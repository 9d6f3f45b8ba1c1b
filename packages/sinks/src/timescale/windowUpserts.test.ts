import type { Candle, VolumeProfile } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { timescaleSchema } from './timescaleSchema.js';
import { CANDLE_UPSERT, TICK_COUNT_UPSERT, VOLUME_PROFILE_UPSERT } from './windowUpserts.js';

const ddl = timescaleSchema({ mode: 'postgres', schema: 'market' }).statements;

/** The column names of a table as timescaleSchema creates it. */
function tableColumns(table: string): string[] {
  const create = ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS market.${table} (`));
  if (create === undefined) throw new Error(`no CREATE TABLE for ${table}`);
  return create
    .split('\n')
    .slice(1)
    .map((line) => /^\s+"?([a-z_]+)"?\s/.exec(line)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'PRIMARY');
}

const candle: Candle = { symbol: 'A"B', timeframe: '1m', start: 60_000, end: 120_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, trades: 3, vwap: 1.25, buyVolume: 6, sellVolume: 4, final: true, rev: 2 };

describe('windowUpserts', () => {
  it('writes every column of each window table but written_at, which the upsert sets to now()', () => {
    for (const upsert of [CANDLE_UPSERT, VOLUME_PROFILE_UPSERT, TICK_COUNT_UPSERT]) {
      const written = upsert.columns.map((c) => c.column);
      expect([...written, 'written_at'].sort()).toEqual(tableColumns(upsert.table).sort());
      expect(upsert.statement('market')).toContain('written_at = now()');
    }
  });

  it('upserts on (symbol, timeframe, start), updates every other column and never lowers rev', () => {
    const sql = CANDLE_UPSERT.statement('market');
    expect(sql).toMatch(/^INSERT INTO "market"\."ohlc" AS o \("symbol", "timeframe", "start", "end", "open"/);
    expect(sql).toContain('ON CONFLICT (symbol, timeframe, start) DO UPDATE SET "end" = excluded."end", "open" = excluded."open"');
    expect(sql).not.toContain('"symbol" = excluded');
    expect(sql).toMatch(/WHERE excluded\.rev >= o\.rev$/);
    expect(sql).toContain('to_timestamp(u.c2 / 1000.0)');
    expect(sql.match(/\$\d+::/g)).toHaveLength(CANDLE_UPSERT.columns.length);
  });

  it('encodes rows as one array literal per column, in column order', () => {
    const params = CANDLE_UPSERT.params([candle, { ...candle, symbol: 'C', final: false, rev: 3 }]);
    expect(params).toEqual(['{"A\\"B","C"}', '{"1m","1m"}', '{60000,60000}', '{120000,120000}', '{1,1}', '{2,2}', '{0.5,0.5}', '{1.5,1.5}', '{10,10}', '{3,3}', '{1.25,1.25}', '{6,6}', '{4,4}', '{t,f}', '{2,3}']);
  });

  it('sends volume levels as JSON text stored as jsonb', () => {
    const profile: VolumeProfile = {
      symbol: 'A', timeframe: '1m', start: 0, end: 60_000, bucket: 0.5, volume: 3, poc: 10, valueAreaLow: 10, valueAreaHigh: 10.5, valueAreaVolume: 3, final: false, rev: 1,
      levels: [{ price: 10, volume: 2, buyVolume: 2, sellVolume: 0 }, { price: 10.5, volume: 1, buyVolume: 0, sellVolume: 1 }],
    };
    const levels = VOLUME_PROFILE_UPSERT.params([profile])[5]!;
    expect(JSON.parse(JSON.parse(levels.slice(1, -1)) as string)).toEqual(profile.levels);
    expect(VOLUME_PROFILE_UPSERT.statement('market')).toContain('u.c5::jsonb');
  });
});
