// @tickflow/sinks/clickhouse: the ClickHouse store and sinks (loads @clickhouse/client).
export { ClickHouseStore } from './clickHouseStore.js';
export { CLICKHOUSE_SINK_DEFAULTS, ClickHouseStoreOptionsSchema } from './clickHouseStoreOptions.js';
export type { ClickHouseStoreOptions } from './clickHouseStoreOptions.js';
export { selectSql } from './clickHouseReader.js';
export type { ClickHouseReadRange, ClickHouseRowOfKind, ClickHouseSinkKind } from './clickHouseRowKinds.js';
export type { ClickHouseShardInfo } from './clickHouseShards.js';
export { clickhouse } from './clickhouse.js';
export type { ClickHouseSinkOptions } from './clickhouse.js';
export { clickHouseCapabilities, clickHouseSchema, columnType, CANDLE_COLUMNS, TICK_COUNT_COLUMNS, TRADE_COLUMNS, VOLUME_PROFILE_COLUMNS } from './clickHouseSchema.js';
export type { ClickHouseCapabilities, ClickHouseSchema, ClickHouseSchemaOptions, ColumnKind, ColumnSpec, TableKind, TableSpec } from './clickHouseSchema.js';
export { fnv1a32, shardOf } from './shardOf.js';
export { candleViewNames, candleViewSelect, candleViewStatements, readCandleView } from './candleView.js';
export type { CandleViewRange, CandleViewSpec } from './candleView.js';
export { ClickHouseCorrelationMatrices, clickHouseCorrelationDdl } from './correlationMatrices.js';
export { readClickHouseDailyOhlc, readClickHouseVolumeBySymbol } from './dailyReaders.js';
export { volumeBySymbol, dailyOf } from '../volumeBySymbol.js';
export type { ClickHouseCandleReader } from './dailyReaders.js';
export { ClickHouseUserEvents, clickHouseUserEventsDdl, USER_EVENTS_TTL_DEFAULT, type ClickHouseUserEventsOptions, type UserEventsQuery } from './userEvents.js';
