// @tickflow/sinks/clickhouse: the ClickHouse store and sinks (loads @clickhouse/client).
// SQL helpers, column tables, the shard hash and the DDL of the side tables are
// internal (their modules in this folder); the schema the store runs is public.
export { ClickHouseStore } from './clickHouseStore.js';
export { CLICKHOUSE_SINK_DEFAULTS, ClickHouseStoreOptionsSchema } from './clickHouseStoreOptions.js';
export type { ClickHouseStoreOptions } from './clickHouseStoreOptions.js';
export type { ClickHouseReadRange, ClickHouseRowOfKind, ClickHouseSinkKind } from './clickHouseRowKinds.js';
export type { ClickHouseShardInfo } from './clickHouseShards.js';
export { clickhouse } from './clickhouse.js';
export type { ClickHouseSinkOptions } from './clickhouse.js';
export { clickHouseCapabilities, clickHouseSchema } from './clickHouseSchema.js';
export type { ClickHouseCapabilities, ClickHouseSchema, ClickHouseSchemaOptions, ColumnKind, ColumnSpec, TableKind, TableSpec } from './clickHouseSchema.js';
export { ClickHouseCorrelationMatrices } from './correlationMatrices.js';
export { readClickHouseDailyOhlc, readClickHouseVolumeBySymbol } from './dailyReaders.js';
export type { ClickHouseCandleReader } from './dailyReaders.js';
export { ClickHouseUserEvents, type ClickHouseUserEventsOptions, type UserEventsQuery } from './userEvents.js';
