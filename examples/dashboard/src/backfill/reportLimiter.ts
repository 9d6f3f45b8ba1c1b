/**
 * Counts reports of one kind (late trades, bad lines) and lets the first
 * `limit` through one line each; the rest are summarised at the end with
 * their count and line range, so a file of a million bad lines does not
 * flood the terminal.
 *
 * @example
 * ```ts
 * const late = new ReportLimiter('late trades', 100);
 * if (late.take(line)) stderr.write(`line ${line}: late …\n`);
 * const tail = late.summary(); // "… 12 more late trades not shown (lines 180–9001)"
 * ```
 */
export class ReportLimiter {
  private count = 0;
  private firstHidden: number | undefined;
  private lastHidden: number | undefined;

  constructor(
    private readonly what: string,
    private readonly limit: number,
  ) {}

  /** Counts one report; true when it should be written out in full. */
  take(line: number | undefined): boolean {
    this.count++;
    if (this.count <= this.limit) return true;
    if (line !== undefined) {
      if (this.firstHidden === undefined || line < this.firstHidden) this.firstHidden = line;
      if (this.lastHidden === undefined || line > this.lastHidden) this.lastHidden = line;
    }
    return false;
  }

  /** The summary of the reports not shown, or undefined when all were. */
  summary(): string | undefined {
    const hidden = this.count - this.limit;
    if (hidden <= 0) return undefined;
    const range = this.firstHidden === undefined ? '' : this.firstHidden === this.lastHidden ? ` (line ${this.firstHidden})` : ` (lines ${this.firstHidden}–${this.lastHidden})`;
    return `… ${hidden} more ${this.what} not shown${range}; --max-reports N shows more`;
  }
}
