// @tickflow/windowing: event-time windows keyed by symbol and mergeable aggregators.
// Subpath /extend: the packed aggregator interface and building blocks (unstable).

export { tumbling } from './tumbling.js';
export type { TumblingOptions } from './tumbling.js';
export { hopping } from './hopping.js';
export type { HoppingOptions } from './hopping.js';
export { EmitModeSchema } from './windowOptions.js';
export type { EmitMode } from './windowOptions.js';

export type { Aggregator } from './aggregator.js';
export { ohlcv } from './ohlcv.js';
export type { OhlcvInput } from './ohlcv.js';
export { volumeProfile } from './volumeProfile.js';
export type { VolumeProfileInput, VolumeProfileOptions } from './volumeProfile.js';
export { tickCount } from './tickCount.js';
export type { TickCountInput } from './tickCount.js';
export { correlation, correlationPairs, type CorrelationMatrix, type CorrelationOptions, type CorrelationInput, type CorrelationPair } from './correlation.js';
