// @tickflow/core/extend: for writing operators and columnar code on top of the pipeline
// (what @tickflow/windowing builds on). Less stable than the root entry: it may change in a
// minor version; pin the version when you use it.

export { Stage } from '../stage.js';
export type { BuildContext, StageContext } from '../stage.js';

export { WatermarkTracker } from '../watermarkTracker.js';
export type { WatermarkOptions } from '../watermarkTracker.js';

export { tradeAt, sideCode, validateTradeColumns, SIDE_UNKNOWN, SIDE_BUY, SIDE_SELL } from '../tradeColumns.js';

export { canonicalTradeShape } from '../events/trade.js';
export { WindowFields } from '../events/window.js';
