import type { DeadLetter } from './events/deadLetter.js';
import { Job } from './job.js';
import type { OutputLike } from './output.js';
import type { PipelineOptions } from './pipelineOptions.js';
import type { Source } from './source.js';
import type { LateEvent, Operator } from './stage.js';

/**
 * The late-event type an operator adds to its pipeline: an operator whose `L`
 * is not `never` sends the events it receives, so they have the type of the
 * stream it is applied to (`S`), which is at least as precise as `L`.
 */
type LateOf<L, S> = [L] extends [never] ? never : S;

/**
 * An immutable pipeline description: a source (optional), event-time options,
 * operators added with `pipe`, side outputs; `.to(output)` builds a Job.
 * `T` is the stream's type after the operators so far, `In` the source's,
 * `L` the type of the events the operators send to the `late` output.
 */
export class PipelineBuilder<T, In = T, L = never> {
  /** @internal */
  constructor(
    private readonly source: Source<In> | undefined,
    private readonly options: PipelineOptions<In>,
    private readonly operators: readonly Operator<unknown, unknown>[],
    private readonly lateOutput: OutputLike<LateEvent<never>> | undefined,
    private readonly deadOutput: OutputLike<DeadLetter<unknown>> | undefined,
  ) {}

  /**
   * Appends operators (up to 12 per call; call `pipe` again for more);
   * returns a new builder typed by the last operator's output.
   */
  pipe(): PipelineBuilder<T, In, L>;
  pipe<O1, L1>(op1: Operator<T, O1, L1>): PipelineBuilder<O1, In, L | LateOf<L1, T>>;
  pipe<O1, O2, L1, L2>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>): PipelineBuilder<O2, In, L | LateOf<L1, T> | LateOf<L2, O1>>;
  pipe<O1, O2, O3, L1, L2, L3>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>): PipelineBuilder<O3, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2>>;
  pipe<O1, O2, O3, O4, L1, L2, L3, L4>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>): PipelineBuilder<O4, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3>>;
  pipe<O1, O2, O3, O4, O5, L1, L2, L3, L4, L5>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>): PipelineBuilder<O5, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4>>;
  pipe<O1, O2, O3, O4, O5, O6, L1, L2, L3, L4, L5, L6>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>): PipelineBuilder<O6, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, L1, L2, L3, L4, L5, L6, L7>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>): PipelineBuilder<O7, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, O8, L1, L2, L3, L4, L5, L6, L7, L8>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>, op8: Operator<O7, O8, L8>): PipelineBuilder<O8, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6> | LateOf<L8, O7>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, O8, O9, L1, L2, L3, L4, L5, L6, L7, L8, L9>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>, op8: Operator<O7, O8, L8>, op9: Operator<O8, O9, L9>): PipelineBuilder<O9, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6> | LateOf<L8, O7> | LateOf<L9, O8>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, O8, O9, O10, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>, op8: Operator<O7, O8, L8>, op9: Operator<O8, O9, L9>, op10: Operator<O9, O10, L10>): PipelineBuilder<O10, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6> | LateOf<L8, O7> | LateOf<L9, O8> | LateOf<L10, O9>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, O8, O9, O10, O11, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>, op8: Operator<O7, O8, L8>, op9: Operator<O8, O9, L9>, op10: Operator<O9, O10, L10>, op11: Operator<O10, O11, L11>): PipelineBuilder<O11, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6> | LateOf<L8, O7> | LateOf<L9, O8> | LateOf<L10, O9> | LateOf<L11, O10>>;
  pipe<O1, O2, O3, O4, O5, O6, O7, O8, O9, O10, O11, O12, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12>(op1: Operator<T, O1, L1>, op2: Operator<O1, O2, L2>, op3: Operator<O2, O3, L3>, op4: Operator<O3, O4, L4>, op5: Operator<O4, O5, L5>, op6: Operator<O5, O6, L6>, op7: Operator<O6, O7, L7>, op8: Operator<O7, O8, L8>, op9: Operator<O8, O9, L9>, op10: Operator<O9, O10, L10>, op11: Operator<O10, O11, L11>, op12: Operator<O11, O12, L12>): PipelineBuilder<O12, In, L | LateOf<L1, T> | LateOf<L2, O1> | LateOf<L3, O2> | LateOf<L4, O3> | LateOf<L5, O4> | LateOf<L6, O5> | LateOf<L7, O6> | LateOf<L8, O7> | LateOf<L9, O8> | LateOf<L10, O9> | LateOf<L11, O10> | LateOf<L12, O11>>;
  pipe(...ops: Operator<unknown, unknown, unknown>[]): PipelineBuilder<unknown, In, unknown> {
    return new PipelineBuilder(this.source, this.options, [...this.operators, ...ops], this.lateOutput, this.deadOutput);
  }

  /**
   * Sends events that arrive after their window closed to `output` (they are
   * counted either way). Call it after the window operators' `pipe`: the
   * output's events are typed by those operators.
   */
  late(output: OutputLike<LateEvent<L>>): PipelineBuilder<T, In, L> {
    return new PipelineBuilder(this.source, this.options, this.operators, output as OutputLike<LateEvent<never>>, this.deadOutput);
  }

  /** Sends inputs that could not be processed, with the reason, to `output` (raw source input included, hence `unknown`). */
  deadLetters(output: OutputLike<DeadLetter<unknown>>): PipelineBuilder<T, In, L> {
    return new PipelineBuilder(this.source, this.options, this.operators, this.lateOutput, output);
  }

  /** Builds a job whose main output is `output` (an Output, or a function called per value). */
  to(output: OutputLike<T>): Job<In, T> {
    return new Job<In, T>(this.source, this.options, this.operators, output, this.lateOutput, this.deadOutput);
  }
}
