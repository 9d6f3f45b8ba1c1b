import { TickflowError } from '@tickflow/core';
import { describe, expect, it } from 'vitest';
import { intervalLiteral, timescaleSchema } from './timescaleSchema.js';

const timescale = timescaleSchema({ mode: 'timescale', schema: 'market' });
const plain = timescaleSchema({ mode: 'postgres', schema: 'market' });

describe('timescaleSchema', () => {
  it('makes trades a hypertable with 1-hour chunks, compressed after 48 hours and kept two years', () => {
    const ddl = timescale.statements.join('\n');
    expect(ddl).toContain(`create_hypertable('market.trades', 'time', chunk_time_interval => INTERVAL '1 hours'`);
    expect(ddl).toContain(`add_compression_policy('market.trades', INTERVAL '2 days', if_not_exists => true)`);
    expect(ddl).toContain(`add_retention_policy('market.trades', INTERVAL '730 days', if_not_exists => true)`);
    expect(ddl).toMatch(/timescaledb\.compress_segmentby = 'symbol'/);
  });

  it('creates ohlc_daily and volume_by_symbol as real-time continuous aggregates refreshed every minute', () => {
    for (const view of ['ohlc_daily', 'volume_by_symbol']) {
      const create = timescale.statements.find((s) => s.startsWith(`CREATE MATERIALIZED VIEW IF NOT EXISTS market.${view}`));
      expect(create).toMatch(/WITH \(timescaledb\.continuous, timescaledb\.materialized_only = false\)/);
      expect(timescale.statements.join('\n')).toContain(`add_continuous_aggregate_policy('market.${view}'`);
    }
    expect(timescale.statements.join('\n')).toMatch(/first\(price, time\) AS open[\s\S]*last\(price, time\) AS close/);
    expect(timescale.statements.join('\n')).toContain("schedule_interval => INTERVAL '1 minutes'");
  });

  it('uses ordinary tables and materialized views with unique keys on plain PostgreSQL', () => {
    const ddl = plain.statements.join('\n');
    expect(ddl).not.toMatch(/timescaledb|create_hypertable|add_.*_policy|time_bucket|first\(/);
    expect(ddl).toContain('CREATE MATERIALIZED VIEW IF NOT EXISTS market.ohlc_daily AS');
    expect(ddl).toContain('CREATE UNIQUE INDEX IF NOT EXISTS ohlc_daily_key ON market.ohlc_daily (symbol, day)');
    expect(ddl).toContain('CREATE UNIQUE INDEX IF NOT EXISTS volume_by_symbol_key ON market.volume_by_symbol (symbol, hour)');
    // UTC days whatever the session time zone.
    expect(ddl).toContain(`date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`);
  });

  it('creates the same tables and indexes in both modes', () => {
    const objects = (statements: readonly string[]) =>
      statements.flatMap((s) => /^CREATE (?:UNIQUE )?(?:TABLE|INDEX|MATERIALIZED VIEW) IF NOT EXISTS (\S+)/.exec(s)?.slice(1) ?? []).sort();
    // Plain PostgreSQL adds the unique indexes that REFRESH ... CONCURRENTLY needs.
    expect([...objects(timescale.statements), 'ohlc_daily_key', 'volume_by_symbol_key'].sort()).toEqual(objects(plain.statements));
    expect(objects(timescale.statements)).toEqual(
      expect.arrayContaining(['market.trades', 'market.ohlc', 'market.volume_profiles', 'market.tick_counts', 'market.ohlc_daily', 'market.volume_by_symbol', 'trades_symbol_time_key', 'trades_price_idx', 'trades_time_idx']),
    );
  });

  it('keys trades by (symbol, time DESC, trade_key) and windows by (symbol, timeframe, start)', () => {
    for (const { statements } of [timescale, plain]) {
      const ddl = statements.join('\n');
      expect(ddl).toContain('CREATE UNIQUE INDEX IF NOT EXISTS trades_symbol_time_key ON market.trades (symbol, time DESC, trade_key)');
      expect(ddl).toContain('CREATE INDEX IF NOT EXISTS trades_price_idx ON market.trades (price)');
      expect(ddl).toContain('CREATE INDEX IF NOT EXISTS trades_time_idx ON market.trades (time DESC)');
      expect(ddl.match(/PRIMARY KEY \(symbol, timeframe, start\)/g)).toHaveLength(3);
    }
  });

  it('writes only statements that are safe to run again', () => {
    for (const { statements } of [timescale, plain]) {
      for (const s of statements) {
        const idempotent = /IF NOT EXISTS|if_not_exists => true/.test(s) || (s.startsWith('DO $$') && s.includes('IF NOT EXISTS'));
        expect(idempotent, s).toBe(true);
      }
    }
  });

  it('is a pure function of its options', () => {
    expect(timescaleSchema({ mode: 'timescale', schema: 'market' })).toEqual(timescale);
    const custom = timescaleSchema({ mode: 'timescale', chunkIntervalMs: 86_400_000, compressAfterMs: 7 * 86_400_000, retentionMs: 90 * 86_400_000 });
    expect(custom.schema).toBe('public');
    expect(custom.statements.join('\n')).toContain(`create_hypertable('public.trades', 'time', chunk_time_interval => INTERVAL '1 days'`);
    expect(custom.statements.join('\n')).toContain(`add_retention_policy('public.trades', INTERVAL '90 days'`);
  });

  it('rejects a schema name that would need quoting', () => {
    for (const bad of ['Market', 'my-schema', 'x; DROP TABLE trades', '', '1abc']) {
      expect(() => timescaleSchema({ mode: 'postgres', schema: bad })).toThrow(TickflowError);
    }
  });
});

describe('intervalLiteral', () => {
  it('writes the largest exact unit', () => {
    expect(intervalLiteral(3_600_000)).toBe("INTERVAL '1 hours'");
    expect(intervalLiteral(90_000)).toBe("INTERVAL '90 seconds'");
    expect(intervalLiteral(1_500)).toBe("INTERVAL '1500 milliseconds'");
    expect(() => intervalLiteral(0)).toThrow(/positive whole number/);
  });
});
