// @tickflow/sinks/timescale: the TimescaleDB / PostgreSQL store and sinks (loads the postgres driver).
export { TimescaleStore, TimescaleStoreOptionsSchema } from './timescaleStore.js';
export type { DailyOhlc, SymbolVolume, TimescaleReadRange, TimescaleRowOfKind, TimescaleSinkKind, TimescaleStoreOptions, TimescaleWindowRange } from './timescaleStore.js';
export { timescale } from './timescale.js';
export type { TimescaleSinkOptions } from './timescale.js';
export { timescaleSchema, intervalLiteral } from './timescaleSchema.js';
export type { TimescaleMode, TimescaleSchema, TimescaleSchemaOptions } from './timescaleSchema.js';
export { TimescaleCorrelationMatrices, correlationMatrixDdl } from './correlationMatrices.js';
export type { CorrelationMatrixQuery, CorrelationMatrixRow } from './correlationMatrices.js';
