import { describeError } from '../errors.js';
import type { Operator, StageContext } from '../stage.js';
import { Stage } from '../stage.js';

class FilterStage<T> extends Stage<T, T> {
  constructor(private readonly fn: (value: T) => boolean, private readonly ctx: StageContext, private readonly name: string) {
    super();
  }
  push(value: T): void {
    let keep: boolean;
    try {
      keep = this.fn(value);
    } catch (e) {
      this.ctx.deadLetter({ reason: `${this.name} threw: ${describeError(e)}`, input: value, origin: this.name });
      return;
    }
    if (keep) this.next.push(value);
  }
}

/**
 * Keeps the values for which `predicate` is true. If it throws, the value goes
 * to the dead-letter output with the error.
 *
 * @example
 * ```ts
 * pipeline(source).pipe(filter((t) => t.size > 0));
 * ```
 */
export function filter<T, S extends T>(predicate: (value: T) => value is S, name?: string): Operator<T, S>;
export function filter<T>(predicate: (value: T) => boolean, name?: string): Operator<T, T>;
export function filter<T>(predicate: (value: T) => boolean, name = 'filter'): Operator<T, T> {
  return { name, build: (ctx) => new FilterStage(predicate, ctx, name) };
}
