import type { Candle, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { SinkTarget } from '../sink.js';
import { TradeKeyer } from '../tradeKey.js';
import type { TradeKeyOf } from '../tradeKey.js';
import { KIND_TABLE, rowProblem } from './timescaleRows.js';
import type { TimescaleRowOfKind, TimescaleSinkKind } from './timescaleRows.js';
import type { TimescaleStore } from './timescaleStore.js';

/**
 * The SinkTarget of a Timescale sink: validates rows (and keys trades
 * without an exchange id, once, in arrival order, so retries resend the same
 * keys), then writes them through a store.
 * @internal
 */
export class TimescaleTarget<K extends TimescaleSinkKind> implements SinkTarget<TimescaleRowOfKind[K]> {
  readonly name: string;
  private readonly keyer = new TradeKeyer();
  private readonly keyOf: TradeKeyOf = (t) => this.keyer.keyOnce(t);

  constructor(
    private readonly kind: K,
    private readonly store: () => Promise<TimescaleStore>,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.name = `timescale:${KIND_TABLE[kind]}`;
  }

  validate(row: TimescaleRowOfKind[K]): string | undefined {
    const p = rowProblem(this.kind, row);
    // Keys are given in arrival order; the same object seen again is a re-delivery and keeps its key.
    if (p === undefined && this.kind === 'trades') this.keyer.keyOnce(row as Trade);
    return p;
  }

  async writeRows(rows: readonly TimescaleRowOfKind[K][]): Promise<void> {
    const store = await this.store();
    switch (this.kind) {
      case 'trades':
        return store.insertTrades(rows as readonly Trade[], this.keyOf);
      case 'candles':
        return store.upsertCandles(rows as readonly Candle[]);
      case 'volumeProfiles':
        return store.upsertVolumeProfiles(rows as readonly VolumeProfile[]);
      case 'tickCounts':
        return store.upsertTickCounts(rows as readonly TickCount[]);
    }
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
