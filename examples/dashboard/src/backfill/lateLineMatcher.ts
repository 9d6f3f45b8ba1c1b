import type { LateEvent, TradeColumns } from '@tickflow/core';

/**
 * Finds the input line of each late trade. Windows report a late trade as a
 * Trade rebuilt from its columnar row, without the row; late events of one
 * batch arrive in row order, so a cursor over the batch finds each one: the
 * next row with the same symbol, ts, price and size whose watermark (the
 * largest earlier event time minus the out-of-orderness, as the pipeline
 * judges lateness with one input) equals the event's. The watermark check
 * tells an identical earlier trade that was on time from the late one.
 *
 * @example
 * ```ts
 * const m = new LateLineMatcher(outOfOrdernessMs);
 * m.startBatch(columns, lines);
 * job.pushColumns(columns);             // late events collected synchronously
 * for (const e of late) console.error(`line ${m.lineOf(e)}: late`);
 * m.endBatch();
 * ```
 */
export class LateLineMatcher {
  private cols: TradeColumns | undefined;
  private lines: Float64Array | undefined;
  private cursor = 0;
  /** Row (in the current batch) of the last event `lineOf` matched, or -1. */
  lastRow = -1;
  /** Largest event time before row `cursor` (over every batch so far). */
  private maxBefore = -Infinity;
  /** Largest event time before the current batch. */
  private batchStartMax = -Infinity;

  constructor(private readonly outOfOrdernessMs: number) {}

  /** Starts matching against a new batch (the one about to be pushed). */
  startBatch(cols: TradeColumns, lines: Float64Array): void {
    this.cols = cols;
    this.lines = lines;
    this.cursor = 0;
    this.maxBefore = this.batchStartMax;
  }

  /** Line number of a late event of the current batch, or undefined when no row matches. */
  lineOf(e: LateEvent): number | undefined {
    const cols = this.cols;
    const lines = this.lines;
    this.lastRow = -1;
    if (cols === undefined || lines === undefined) return undefined;
    const t = e.event as { symbol?: unknown; ts?: unknown; price?: unknown; size?: unknown };
    const ooo = this.outOfOrdernessMs;
    const n = cols.length;
    let max = this.maxBefore;
    for (let r = this.cursor; r < n; r++) {
      const ts = cols.ts[r]!;
      if (ts === t.ts && cols.price[r] === t.price && cols.size[r] === t.size && cols.symbols[cols.symbol[r]!] === t.symbol && max - ooo === e.watermark) {
        this.cursor = r + 1;
        this.lastRow = r;
        this.maxBefore = ts > max ? ts : max;
        return lines[r];
      }
      if (ts > max) max = ts;
    }
    return undefined;
  }

  /** Ends the batch: carries its largest event time over to the next. */
  endBatch(): void {
    const cols = this.cols;
    if (cols === undefined) return;
    let max = this.batchStartMax;
    const ts = cols.ts;
    for (let r = 0; r < cols.length; r++) if (ts[r]! > max) max = ts[r]!;
    this.batchStartMax = max;
    this.cols = undefined;
    this.lines = undefined;
  }
}
