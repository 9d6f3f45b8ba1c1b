// @tickflow/dashboard: the reference app's building blocks, used by the `tickflow` CLI.
export { aggregationOperators } from './aggregation.js';
export type { AggregationKind, AggregationOutput, AggregationSettings } from './aggregation.js';
export { aggregateCommand, parseKind } from './aggregateCommand.js';
export type { AggregateOptions, AggregateIo } from './aggregateCommand.js';
export { serveCommand } from './serveCommand.js';
export type { ServeOptions, RunningServer } from './serveCommand.js';
export { LiveCandleStore } from './liveCandleStore.js';
export { main } from './main.js';
export { startReferenceServer } from './server/referenceServer.js';
export type { ReferenceServer } from './server/referenceServer.js';
export { InMemoryMarketStore } from './server/marketStore.js';
export type { MarketDataReader, SymbolStats, TradePage, StoredTrade } from './server/marketStore.js';
