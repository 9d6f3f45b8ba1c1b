// @tickflow/sinks: the sink contract shared by every store adapter. The
// adapters live on their own subpaths (@tickflow/sinks/clickhouse,
// /timescale, /redis) so that using one never loads the other drivers.
export { BatchingSink, SinkOptionsSchema } from './batchingSink.js';
export type { BreakerState, Sink, SinkEvents, SinkOptions, SinkStats, SinkTarget } from './batchingSink.js';
export { backoffDelay } from './backoff.js';
export type { BackoffSettings } from './backoff.js';
export type { RangeQuery, RangeStore, WindowRangeQuery } from './rangeStore.js';
export { TradeKeyer } from './tradeKey.js';
export type { TradeKeyOf } from './tradeKey.js';
export { candleProblem, quoteProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from './rowValidation.js';
