import type { Keyed, Operator } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import type { Aggregator } from '../aggregator.js';
import type { EmitSpec, LevelSpec } from './windowStage.js';
import { WindowStage } from './windowStage.js';

/** The operator shared by `tumbling` and `hopping`: checks the stream is keyed, then builds a WindowStage per run. */
export function windowOperator<T, Acc, Out>(
  name: string,
  plan: { readonly levels: readonly LevelSpec[]; readonly grace: number; readonly emit: EmitSpec },
  aggregator: Aggregator<T, Acc, Out>,
): Operator<Keyed<string, T>, Out> {
  return {
    name,
    build(ctx) {
      const key = ctx.key;
      if (key === undefined) {
        throw new TickflowError('PIPELINE_STATE', `${name}: windows need a keyed stream; add keyBy('symbol') (or another key) before ${name}()`);
      }
      return new WindowStage<Keyed<string, T>, Out>(name, plan.levels, plan.grace, plan.emit, aggregator as Aggregator<Keyed<string, T>, unknown, Out>, ctx, key);
    },
  };
}
