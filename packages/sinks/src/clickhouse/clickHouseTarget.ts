import type { Trade } from '@tickflow/core';
import type { SinkTarget } from '../sink.js';
import { TradeKeyer } from '../tradeKey.js';
import type { TradeKeyOf } from '../tradeKey.js';
import { rowProblem } from './clickHouseRowKinds.js';
import type { ClickHouseRowOfKind, ClickHouseSinkKind } from './clickHouseRowKinds.js';
import type { ClickHouseStore } from './clickHouseStore.js';
import type { ParsedClickHouseOptions } from './clickHouseStoreOptions.js';

/**
 * The SinkTarget of a ClickHouse sink: validates rows (and keys trades
 * without an exchange id, once, in arrival order, so retries resend the same
 * keys), then writes them through a store.
 * @internal
 */
export class ClickHouseTarget<K extends ClickHouseSinkKind> implements SinkTarget<ClickHouseRowOfKind[K]> {
  readonly name: string;
  private readonly keyer = new TradeKeyer();
  private readonly keyOf: TradeKeyOf = (t) => this.keyer.keyOnce(t);

  constructor(
    private readonly kind: K,
    private readonly options: ParsedClickHouseOptions,
    private readonly store: () => Promise<ClickHouseStore>,
    private readonly ownsStore: boolean,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.name = `clickhouse:${kind}`;
  }

  validate(row: ClickHouseRowOfKind[K]): string | undefined {
    const p = rowProblem(this.kind, row, this.options);
    // Keys are given in arrival order; the same object seen again is a re-delivery and keeps its key.
    if (p === undefined && this.kind === 'trades') this.keyer.keyOnce(row as Trade);
    return p;
  }

  async writeRows(rows: readonly ClickHouseRowOfKind[K][]): Promise<void> {
    const store = await this.store();
    if (this.kind === 'trades') await store.insertTrades(rows as readonly Trade[], this.keyOf);
    else await store.insertAggregates(this.kind as 'candles' | 'volumeProfiles' | 'tickCounts', rows as readonly ClickHouseRowOfKind['candles' | 'volumeProfiles' | 'tickCounts'][]);
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.onClose?.();
  }
}
