import { describeError } from '../errors.js';
import type { Operator, StageContext } from '../stage.js';
import { Stage } from '../stage.js';

class MapStage<I, O> extends Stage<I, O> {
  constructor(private readonly fn: (value: I) => O, private readonly ctx: StageContext, private readonly name: string) {
    super();
  }
  push(value: I): void {
    let out: O;
    try {
      out = this.fn(value);
    } catch (e) {
      this.ctx.deadLetter({ reason: `${this.name} threw: ${describeError(e)}`, input: value, origin: this.name });
      return;
    }
    this.next.push(out);
  }
}

/**
 * Transforms each value. If `fn` throws, the value goes to the dead-letter
 * output with the error and the stream goes on.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(map((t) => ({ ...t, price: t.price / 100 })));
 * ```
 */
export function map<I, O>(fn: (value: I) => O, name = 'map'): Operator<I, O> {
  return { name, build: (ctx) => new MapStage(fn, ctx, name) };
}
