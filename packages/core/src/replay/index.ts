// @tickflow/core/replay: file and stream replay of NDJSON and CSV trades (Node only).
export { fromFile, fromReadable } from './fromReadable.js';
export type { ReplayOptions } from './fromReadable.js';
export { TradeLineParser, splitCsvLine } from './tradeLineParser.js';
export type { TradeFileFormat } from './tradeLineParser.js';
