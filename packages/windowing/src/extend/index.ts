// @tickflow/windowing/extend: the packed (columnar) aggregator interface and its building blocks,
// for writing your own aggregators. Less stable than the root entry: it may change in a minor
// version; pin the version when you use it.

export { tumblingLevels } from '../tumbling.js';
export type { PackedAggregator, WindowRef, ColumnsLike, FastRun } from '../aggregator.js';
export { OhlcvAggregator, PackedOhlcv } from '../ohlcv.js';
export { VolumeProfileAggregator, VolumeProfileAcc, valueAreaOf, levelIndex } from '../volumeProfile.js';
export { TickCountAggregator, PackedTickCount } from '../tickCount.js';
export { PackedView } from '../packedView.js';
export { CompensatedSum } from '../compensatedSum.js';
export { CoMoments } from '../correlation.js';
