// @tickflow/core/replay: file and stream replay of NDJSON and CSV trades (Node only).
export { fromFile, fromReadable } from './fromReadable.js';
export type { ReplayOptions } from './fromReadable.js';
export { TradeLineParser, splitCsvLine, detectTimeUnit, parseTimeUnit, toMilliseconds } from './tradeLineParser.js';
export type { TimeUnit, TimeUnitOption, TradeFileFormat } from './tradeLineParser.js';
export { TradeScanner } from './tradeScanner.js';
export type { ScannedBatch, TradeScannerOptions } from './tradeScanner.js';
export { fromFileColumns, openTradeFile, scanTrades } from './scanTrades.js';
export type { ScanTradesOptions } from './scanTrades.js';
export { decompressor, sniffInput } from './inputKind.js';
export type { InputKind } from './inputKind.js';
export { BlockScanner } from './blockScanner.js';
export { inThreadRunner } from './blockRunners.js';
export { scanTradeFile } from './parallelScan.js';
export type { BlockResult, BlockTask, ScanSettings } from './blockScanner.js';
export type { BlockLanes, BlockRunner } from './blockRunners.js';
export type { ScanTradeFileOptions } from './parallelScan.js';
export { TableTradeReader, mapTradeColumns, rowObject } from './columnarTrades.js';
export type { ColumnValues, ColumnarBatch, TableBatch, TableTradeReaderOptions, TradeField } from './columnarTrades.js';
