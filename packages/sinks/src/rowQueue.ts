/**
 * The rows a `BatchingSink` has accepted and not yet taken for a store write:
 * the chunks as callers gave them (not copied on arrival), each with its
 * arrival time, taken off the front in batches of any size.
 */
export class RowQueue<T> {
  private chunks: (readonly T[])[] = [];
  private chunkTimes: number[] = [];
  private chunkHead = 0;
  private rowHead = 0;
  private queued = 0;

  /** Rows queued. */
  get length(): number {
    return this.queued;
  }

  /** Queues a chunk of rows that arrived at `time` (epoch ms). */
  push(rows: readonly T[], time: number): void {
    this.chunks.push(rows);
    this.chunkTimes.push(time);
    this.queued += rows.length;
  }

  /** Arrival time of the oldest queued row (the queue must not be empty). */
  oldestTime(): number {
    return this.chunkTimes[this.chunkHead]!;
  }

  /** Takes the next `n` rows off the queue (the caller's array itself when it is exactly one whole chunk). */
  take(n: number): readonly T[] {
    this.queued -= n;
    const first = this.chunks[this.chunkHead]!;
    if (this.rowHead === 0 && first.length === n) {
      this.dropChunk();
      return first;
    }
    const out: T[] = new Array<T>(n);
    let k = 0;
    while (k < n) {
      const chunk = this.chunks[this.chunkHead]!;
      const m = Math.min(n - k, chunk.length - this.rowHead);
      for (let i = 0; i < m; i++) out[k++] = chunk[this.rowHead + i]!;
      this.rowHead += m;
      if (this.rowHead === chunk.length) this.dropChunk();
    }
    return out;
  }

  private dropChunk(): void {
    this.chunkHead++;
    this.rowHead = 0;
    if (this.chunkHead === this.chunks.length) {
      this.chunks = [];
      this.chunkTimes = [];
      this.chunkHead = 0;
    } else if (this.chunkHead > 1024) {
      this.chunks = this.chunks.slice(this.chunkHead);
      this.chunkTimes = this.chunkTimes.slice(this.chunkHead);
      this.chunkHead = 0;
    }
  }
}
