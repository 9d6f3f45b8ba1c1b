// @tickflow/sinks/timescale: the TimescaleDB / PostgreSQL store and sinks (loads the postgres driver).
export { TimescaleStore } from './timescaleStore.js';
export { TimescaleStoreOptionsSchema } from './timescaleStoreOptions.js';
export type { TimescaleStoreOptions } from './timescaleStoreOptions.js';
export type { DailyOhlc, SymbolVolume, TimescaleReadRange, TimescaleRowOfKind, TimescaleSinkKind, TimescaleWindowRange } from './timescaleRows.js';
export { timescale } from './timescale.js';
export type { TimescaleSinkOptions } from './timescale.js';
export { timescaleSchema } from './timescaleSchema.js';
export type { TimescaleMode, TimescaleSchema, TimescaleSchemaOptions } from './timescaleSchema.js';
export { TimescaleCorrelationMatrices } from './correlationMatrices.js';
export type { CorrelationMatrixQuery, CorrelationMatrixRow } from './correlationMatrices.js';
