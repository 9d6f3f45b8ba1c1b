import { TickflowError } from '@tickflow/core';
import type { AggregationKind } from '../aggregation.js';
import type { ResultOutput } from './resultOutput.js';

/** Results as a Parquet file (not built yet). */
export function parquetResultOutput(path: string, _kind: AggregationKind): ResultOutput {
  throw new TickflowError('INVALID_ARGUMENT', `--output parquet (${path}) is not supported yet`);
}
