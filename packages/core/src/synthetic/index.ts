// @tickflow/core/synthetic: the demo market feed (a seeded random walk with intraday volume); not needed in production.
export { SeededRandom } from '../sources/seededRandom.js';
export { MarketSimulator, MarketSimulatorOptionsSchema, intradayVolumeFactor } from '../sources/marketSimulator.js';
export type { MarketSimulatorOptions } from '../sources/marketSimulator.js';
export { syntheticTrades, syntheticQuotes } from '../sources/syntheticFeed.js';
export type { SyntheticFeedOptions } from '../sources/syntheticFeed.js';
