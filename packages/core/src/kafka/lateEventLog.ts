import type { KafkaLateEvent } from './kafkaConsumerOptions.js';

/**
 * Counts events late within their own partition and logs them with topic,
 * partition and offset: the first 20 a minute one by one, then one summary
 * line a minute, so a flood of late data cannot flood the log.
 */
export class LateEventLog {
  /** Late events so far. */
  count = 0;
  /** The last one. */
  last: KafkaLateEvent | undefined;
  private logged = 0;
  private windowStart = 0;
  private suppressed = 0;

  constructor(
    private readonly topic: string,
    private readonly warn: (message: string) => void,
    private readonly onLate?: (late: KafkaLateEvent) => void,
  ) {}

  /** Records one late event. */
  note(late: KafkaLateEvent): void {
    this.count++;
    this.last = late;
    this.onLate?.(late);
    const now = Date.now();
    if (now - this.windowStart >= 60_000) {
      if (this.suppressed > 0) this.warn(`${this.suppressed} more late events in the last minute (${this.count} in all); the last at ${this.topic}[${late.partition}] offset ${late.offset}`);
      this.windowStart = now;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged < 20) {
      this.logged++;
      this.warn(`late event at ${this.topic}[${late.partition}] offset ${late.offset}: ts ${new Date(late.ts).toISOString()} is behind its window's end + grace on that partition's watermark ${new Date(late.watermark).toISOString()}; it goes to the jobs' late output, not into any window`);
    } else this.suppressed++;
  }
}
