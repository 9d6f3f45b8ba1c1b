// @tickflow/windowing: event-time windows keyed by symbol and mergeable aggregators.

export { tumbling, tumblingLevels } from './tumbling.js';
export type { TumblingOptions } from './tumbling.js';
export { hopping } from './hopping.js';
export type { HoppingOptions } from './hopping.js';
export { EmitModeSchema } from './windowOptions.js';
export type { EmitMode } from './windowOptions.js';

export type { Aggregator, PackedAggregator, WindowRef, ColumnsLike, FastRun } from './aggregator.js';
export { ohlcv, OhlcvAggregator, PackedOhlcv } from './ohlcv.js';
export type { OhlcvInput } from './ohlcv.js';
export { volumeProfile, VolumeProfileAggregator, VolumeProfileAcc, valueAreaOf, levelIndex } from './volumeProfile.js';
export type { VolumeProfileInput, VolumeProfileOptions } from './volumeProfile.js';
export { tickCount, TickCountAggregator, PackedTickCount } from './tickCount.js';
export { PackedView } from './packedView.js';
export type { TickCountInput } from './tickCount.js';
export { CompensatedSum } from './compensatedSum.js';
export { correlation, correlationPairs, CoMoments, type CorrelationMatrix, type CorrelationOptions, type CorrelationInput, type CorrelationPair } from './correlation.js';
