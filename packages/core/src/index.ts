// @tickflow/core: event types and schemas, event time, the pipeline, operators, sources.
// Subpaths: /replay (files), /kafka, /tracing, /synthetic (demo feed), /extend (operator authoring, unstable).

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
} from './events/trade.js';
export type { Trade, Side, NormalizeTradeOptions } from './events/trade.js';
export { QuoteSchema, QuoteInputSchema, normalizeQuote, parseQuote, quoteOfTrade } from './events/quote.js';
export type { Quote } from './events/quote.js';
export { CandleSchema } from './events/candle.js';
export type { Candle } from './events/candle.js';
export { VolumeProfileSchema, VolumeLevelSchema } from './events/volumeProfile.js';
export type { VolumeProfile, VolumeLevel } from './events/volumeProfile.js';
export { TickCountSchema } from './events/tickCount.js';
export type { TickCount } from './events/tickCount.js';
export type { DeadLetter } from './events/deadLetter.js';
export { UserEventSchema, UserEventRecordSchema, USER_EVENT_TYPES, USER_EVENT_VERSION, USER_EVENT_LIMITS, normalizeUserEvent, normalizeUserEventRecord, parseUserEvent, type UserEvent, type UserEventRecord, type UserEventType } from './events/userEvent.js';

export { TradeColumnsBuilder, toTradeColumns } from './tradeColumns.js';
export { TradeRing } from './tradeRing.js';
export type { TradeColumns } from './tradeColumns.js';

export type { Operator, Keyed, KeySelector, LateEvent } from './stage.js';

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
