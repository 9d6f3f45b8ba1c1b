import { describeError } from '../errors.js';
import type { Operator, StageContext } from '../stage.js';
import { Stage } from '../stage.js';

class TapStage<T> extends Stage<T, T> {
  constructor(private readonly fn: (value: T) => void, private readonly ctx: StageContext, private readonly name: string) {
    super();
  }
  push(value: T): void {
    try {
      this.fn(value);
    } catch (e) {
      this.ctx.deadLetter({ reason: `${this.name} threw: ${describeError(e)}`, input: value, origin: this.name });
    }
    this.next.push(value);
  }
}

/**
 * Calls `fn` with each value and passes the value on unchanged (publishing to
 * a WebSocket server, logging). A throw is reported to the dead-letter output
 * and the value still flows on.
 */
export function tap<T>(fn: (value: T) => void, name = 'tap'): Operator<T, T> {
  return { name, build: (ctx) => new TapStage(fn, ctx, name) };
}
