import type { Candle } from './candle.js';
import type { Quote } from './quote.js';
import type { TickCount } from './tickCount.js';
import type { Trade } from './trade.js';
import type { UserEventRecord } from './userEvent.js';
import type { VolumeProfile } from './volumeProfile.js';

/**
 * The row type of each kind of data tickflow moves: the one map that sinks
 * (`ClickHouseRowOfKind` = `Pick<RowKinds, …>`), the Kafka output and the
 * WebSocket channels select from, so a kind has one name and one type.
 *
 * @example
 * ```ts
 * function write<K extends RowKind>(kind: K, rows: readonly RowKinds[K][]): void { … }
 * ```
 */
export interface RowKinds {
  trades: Trade;
  quotes: Quote;
  candles: Candle;
  volumeProfiles: VolumeProfile;
  tickCounts: TickCount;
  userEvents: UserEventRecord;
}

/** A kind of row: a key of `RowKinds`. */
export type RowKind = keyof RowKinds;
