import { TickflowError } from '@tickflow/core';
import type { AggregationKind } from '../aggregation.js';
import type { ResultOutput } from './resultOutput.js';

/** Results written into a store given by URL (not built yet). */
export function openStoreOutput(url: string, _kind: AggregationKind): Promise<ResultOutput> {
  throw new TickflowError('INVALID_ARGUMENT', `--to ${url.replace(/\/\/[^@/]*@/, '//***@')}: writing into a store is not supported yet`);
}
