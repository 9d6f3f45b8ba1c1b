import type { Writable } from 'node:stream';

/** Formats a byte count for people: 12.3 MB. */
function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

function durationText(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * A one-line progress display on a terminal (bytes read of the total,
 * trades/s, ETA), redrawn at most every `intervalMs`; it writes nothing when
 * the stream is not a TTY, so logs and pipes stay clean.
 *
 * @example
 * ```ts
 * const p = new ProgressMeter(process.stderr, { totalBytes: stat.size });
 * p.update(bytesRead, trades);
 * p.done();
 * ```
 */
export class ProgressMeter {
  private readonly active: boolean;
  private readonly totalBytes: number | undefined;
  private readonly intervalMs: number;
  private readonly started = performance.now();
  private last = 0;
  private shown = false;

  constructor(
    private readonly out: Writable,
    { totalBytes, intervalMs = 250, force }: { totalBytes?: number | undefined; intervalMs?: number; force?: boolean | undefined } = {},
  ) {
    this.active = force ?? (out as Writable & { isTTY?: boolean }).isTTY === true;
    this.totalBytes = totalBytes;
    this.intervalMs = intervalMs;
  }

  /** Redraws the line when the interval has passed. */
  update(bytes: number, trades: number): void {
    if (!this.active) return;
    const now = performance.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? trades / seconds : 0;
    let text = `${bytesText(bytes)}`;
    if (this.totalBytes !== undefined && this.totalBytes > 0) {
      const frac = Math.min(1, bytes / this.totalBytes);
      const eta = frac > 0 ? (seconds * (1 - frac)) / frac : Infinity;
      text += ` / ${bytesText(this.totalBytes)} (${(frac * 100).toFixed(0)}%)  ETA ${durationText(eta)}`;
    }
    text += `  ${trades.toLocaleString('en-US')} trades  ${(rate / 1e6).toFixed(2)} M trades/s`;
    this.out.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  /** Clears the line (before the summary is written). */
  done(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}
