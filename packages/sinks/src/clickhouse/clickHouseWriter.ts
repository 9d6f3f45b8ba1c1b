import { Readable } from 'node:stream';
import { drainStream } from '@clickhouse/client';
import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { TradeKeyOf } from '../tradeKey.js';
import { candleJson, encodeCandle, encodeTickCount, encodeTrade, encodeVolumeProfile, tickCountJson, tradeJson, volumeProfileJson } from './clickHouseRows.js';
import type { ClickHouseRowOfKind } from './clickHouseRowKinds.js';
import { quoteIdent } from './clickHouseSchema.js';
import type { TableSpec } from './clickHouseSchema.js';
import { findTable } from './clickHouseShards.js';
import type { ClickHouseShards, Shard } from './clickHouseShards.js';
import type { ParsedClickHouseOptions } from './clickHouseStoreOptions.js';
import { RowBinaryWriter } from './rowBinary.js';

/**
 * The writes of a ClickHouse store: rows split by shard, then by table,
 * each part one insert (RowBinary, or JSONEachRow when asked), all parts at
 * once. A failed part fails the call; writes are idempotent, so the sink
 * retries the whole batch.
 * @internal
 */
export class ClickHouseWriter {
  constructor(
    private readonly shards: ClickHouseShards,
    private readonly insertFormat: ParsedClickHouseOptions['insertFormat'],
  ) {}

  /** Writes trades already validated, keyed by `keyOf`: one insert per shard, at once. */
  async insertTrades(rows: readonly Trade[], keyOf: TradeKeyOf): Promise<void> {
    if (rows.length === 0) return;
    const perShard = this.shards.splitByShard(rows);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < perShard.length; i++) {
      const part = perShard[i]!;
      if (part.length === 0) continue;
      const shard = this.shards.list[i]!;
      const table = shard.schema.trades;
      if (this.insertFormat === 'RowBinary') {
        const w = new RowBinaryWriter(part.length * 96);
        for (let j = 0; j < part.length; j++) {
          const t = part[j]!;
          encodeTrade(w, t, keyOf(t));
        }
        jobs.push(this.insertBinary(shard, table, w.finish(), part.length));
      } else {
        jobs.push(this.insertJson(shard, table, part.map((t) => tradeJson(t, keyOf(t)))));
      }
    }
    await settleAll(jobs);
  }

  /** Writes window rows already validated: one insert per shard and table, at once. */
  async insertAggregates<K extends 'candles' | 'volumeProfiles' | 'tickCounts'>(kind: K, rows: readonly ClickHouseRowOfKind[K][]): Promise<void> {
    if (rows.length === 0) return;
    const perShard = this.shards.splitByShard(rows);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < perShard.length; i++) {
      const part = perShard[i]!;
      if (part.length === 0) continue;
      const shard = this.shards.list[i]!;
      const index = kind === 'candles' ? this.shards.candleTables[i]! : kind === 'volumeProfiles' ? this.shards.profileTables[i]! : this.shards.tickCountTables[i]!;
      // Group by table (timeframe): usually one group.
      const groups = new Map<TableSpec, ClickHouseRowOfKind[K][]>();
      for (let j = 0; j < part.length; j++) {
        const row = part[j]!;
        const table = findTable(index, row.timeframe);
        if (table === undefined) throw new TickflowError('INVALID_ARGUMENT', `no ClickHouse table for timeframe "${row.timeframe}"`);
        let g = groups.get(table);
        if (g === undefined) groups.set(table, (g = []));
        g.push(row);
      }
      for (const [table, group] of groups) {
        if (this.insertFormat === 'RowBinary') {
          const w = new RowBinaryWriter(group.length * (kind === 'volumeProfiles' ? 512 : 128));
          if (kind === 'candles') for (const c of group as Candle[]) encodeCandle(w, c);
          else if (kind === 'volumeProfiles') for (const v of group as VolumeProfile[]) encodeVolumeProfile(w, v);
          else for (const t of group as TickCount[]) encodeTickCount(w, t);
          jobs.push(this.insertBinary(shard, table, w.finish(), group.length));
        } else {
          const json = kind === 'candles' ? (group as Candle[]).map(candleJson) : kind === 'volumeProfiles' ? (group as VolumeProfile[]).map(volumeProfileJson) : (group as TickCount[]).map(tickCountJson);
          jobs.push(this.insertJson(shard, table, json));
        }
      }
    }
    await settleAll(jobs);
  }

  private async insertBinary(shard: Shard, table: TableSpec, body: Buffer, rows: number): Promise<void> {
    const cols = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    try {
      const res = await shard.client.exec({ query: `INSERT INTO ${quoteIdent(shard.schema.database)}.${quoteIdent(table.name)} (${cols}) FORMAT RowBinary`, values: Readable.from([body], { objectMode: false }) });
      await drainStream(res.stream);
    } catch (e) {
      throw insertError(shard, table, rows, e);
    }
  }

  private async insertJson(shard: Shard, table: TableSpec, values: Record<string, unknown>[]): Promise<void> {
    try {
      await shard.client.insert({ table: `${quoteIdent(shard.schema.database)}.${quoteIdent(table.name)}`, values, format: 'JSONEachRow', columns: table.columns.map((c) => c.name) as [string, ...string[]] });
    } catch (e) {
      throw insertError(shard, table, values.length, e);
    }
  }
}

function insertError(shard: Shard, table: TableSpec, rows: number, e: unknown): TickflowError {
  return new TickflowError('SINK_FAILED', `ClickHouse ${shard.url}: inserting ${rows} rows into ${shard.schema.database}.${table.name} failed: ${describeError(e)}; check that the server is up (a sink retries the batch: writes are idempotent)`, { cause: e });
}

async function settleAll(jobs: Promise<void>[]): Promise<void> {
  if (jobs.length === 1) return jobs[0];
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
