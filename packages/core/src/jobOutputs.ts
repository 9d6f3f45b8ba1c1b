import type { Output } from './output.js';
import { Stage } from './stage.js';

/**
 * Values are handed to the main output in chunks of this many even in the
 * middle of a batch: when thousands of windows fire at once, results that
 * wait for the end of the batch outlive V8's young generation and cost far
 * more in GC than to create.
 */
const EAGER_DELIVERY = 1024;

/** A buffer at the end of the chain (main output). */
export class BufferStage<T> extends Stage<T, never> {
  override readonly terminal = true;
  buf: T[] = [];
  constructor(private readonly job: { pending: number; deliverEarly(): void }) {
    super();
  }
  push(value: T): void {
    this.buf.push(value);
    this.job.pending++;
    if (this.buf.length >= EAGER_DELIVERY) this.job.deliverEarly();
  }
  override advance(): void {}
  override tick(): void {}
  override finish(): void {}
  override setInput(): void {}
}

/** One output of a job: the values waiting for it and its in-flight writes. */
export class OutputSlot<T> {
  buf: T[] = [];
  tail: Promise<void> | undefined;
  inflight = 0;
  constructor(readonly output: Output<T> | undefined, readonly label: string) {}
}
