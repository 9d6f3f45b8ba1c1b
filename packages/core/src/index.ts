// @tickflow/core: event types and schemas, event time and watermarks, the pipeline, sources.

export { TickflowError, toTickflowError, describeError } from './errors.js';
export type { TickflowErrorCode } from './errors.js';

export { parseDuration, formatDuration, ms, DurationSchema, TIMEFRAMES } from './duration.js';
export { redactUrl } from './redactUrl.js';
export type { Duration, DurationUnit, Timeframe } from './duration.js';

export { SymbolSchema, MAX_SYMBOL_LENGTH, isValidSymbol } from './events/symbol.js';
export { toEpochMs } from './events/timestamp.js';
export { formatIssues } from './events/issues.js';
export type { FormatIssuesOptions } from './events/issues.js';
export type { RowKinds, RowKind } from './events/rowKinds.js';
export {
  TradeSchema,
  TradeInputSchema,
  SideSchema,
  InvalidEvent,
  normalizeTrade,
  parseTrade,
  canonicalTradeShape,
} from './events/trade.js';
export type { Trade, Side, NormalizeTradeOptions } from './events/trade.js';
export { QuoteSchema, QuoteInputSchema, normalizeQuote, parseQuote, quoteOfTrade } from './events/quote.js';
export type { Quote } from './events/quote.js';
export { WindowFields } from './events/window.js';
export { CandleSchema } from './events/candle.js';
export type { Candle } from './events/candle.js';
export { VolumeProfileSchema, VolumeLevelSchema } from './events/volumeProfile.js';
export type { VolumeProfile, VolumeLevel } from './events/volumeProfile.js';
export { TickCountSchema } from './events/tickCount.js';
export type { TickCount } from './events/tickCount.js';
export type { DeadLetter } from './events/deadLetter.js';
export { UserEventSchema, UserEventRecordSchema, USER_EVENT_TYPES, USER_EVENT_VERSION, USER_EVENT_LIMITS, normalizeUserEvent, normalizeUserEventRecord, parseUserEvent, type UserEvent, type UserEventRecord, type UserEventType } from './events/userEvent.js';

export {
  TradeColumnsBuilder,
  toTradeColumns,
  tradeAt,
  sideCode,
  validateTradeColumns,
  SIDE_UNKNOWN,
  SIDE_BUY,
  SIDE_SELL,
} from './tradeColumns.js';
export type { TradeColumns } from './tradeColumns.js';

export { WatermarkTracker } from './watermarkTracker.js';
export type { WatermarkOptions } from './watermarkTracker.js';

export { Stage } from './stage.js';
export type { Operator, BuildContext, StageContext, Keyed, KeySelector, LateEvent } from './stage.js';

export { pipeline, PipelineBuilder, Job } from './pipeline.js';
export type { PipelineOptions, JobStats, RunOptions, JobSnapshot } from './pipeline.js';

export { toOutput, collect } from './output.js';
export type { Output, OutputLike } from './output.js';

export type { Source, SourceBatch, SourceContext, InputBatch, ColumnBatch } from './source.js';
export { fromArray } from './sources/fromArray.js';
export type { FromArrayOptions } from './sources/fromArray.js';
export { fromIterable } from './sources/fromIterable.js';
export type { FromIterableOptions } from './sources/fromIterable.js';

export { keyBy } from './operators/keyBy.js';
export { map } from './operators/map.js';
export { filter } from './operators/filter.js';
export { tap } from './operators/tap.js';
export { SeededRandom } from './sources/seededRandom.js';
export { MarketSimulator, MarketSimulatorOptionsSchema, intradayVolumeFactor } from './sources/marketSimulator.js';
export type { MarketSimulatorOptions } from './sources/marketSimulator.js';
export { syntheticTrades, syntheticQuotes } from './sources/syntheticFeed.js';
export type { SyntheticFeedOptions } from './sources/syntheticFeed.js';
