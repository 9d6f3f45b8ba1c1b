// @tickflow/sinks: the sink contract shared by every store adapter. The
// adapters live on their own subpaths (@tickflow/sinks/clickhouse,
// /timescale, /redis, /kafka) so that using one never loads the other drivers.
//
// One factory shape for every store: `clickhouse(options)`, `timescale(options)`,
// `redis(options)` and `kafka(options)` take one options object (the store's
// options, the sink's SinkOptions and the `kind` of rows) and return a
// `Sink<Row>` (a BatchingSink: write, enqueue, flush, close, stats, events) that
// owns its connection; a connected store's `store.sink(kind, sinkOptions)` returns
// the same `Sink<Row>` on the store's connection. The ClickHouse and the
// Timescale store are both a `RangeStore` (range reads by symbol and time).
export { BatchingSink } from './batchingSink.js';
export type { BreakerState, Sink, SinkEvents, SinkStats, SinkTarget } from './sink.js';
export { SinkOptionsSchema } from './sinkOptions.js';
export type { SinkOptions } from './sinkOptions.js';
export { backoffDelay } from './backoff.js';
export type { BackoffSettings } from './backoff.js';
export type { RangeQuery, RangeStore, WindowRangeQuery } from './rangeStore.js';
export { TradeKeyer } from './tradeKey.js';
export { dailyOf, volumeBySymbol } from './volumeBySymbol.js';
export type { DailyOhlc, SymbolVolume } from './volumeBySymbol.js';
export type { TradeKeyOf } from './tradeKey.js';
export { candleProblem, quoteProblem, tickCountProblem, tradeProblem, volumeProfileProblem } from './rowValidation.js';
