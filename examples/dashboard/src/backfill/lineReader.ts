import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { splitCsvLine } from '@tickflow/core/replay';

/** Longest line read back (longer ones are cut there). */
const MAX_LINE = 65_536;

/**
 * Reads single lines of a plain text trade file again by byte offset, for
 * reports: a late trade is reported with every field of its input line (ids,
 * bids, asks, extra columns), which the columnar batches do not carry. An
 * NDJSON line gives its object; a CSV row gives the header's names with the
 * row's values (as text). Only reported lines are read, so the cost does not
 * grow with the file.
 *
 * @example
 * ```ts
 * const lines = new LineReader('trades.ndjson');
 * console.error(JSON.stringify(lines.record(batch.offsets[row]!)));
 * lines.close();
 * ```
 */
export class LineReader {
  private fd: number | undefined;
  private header: string[] | undefined;

  /** @param path a plain (not compressed) text file. */
  constructor(private readonly path: string) {}

  /** The fields of the line starting at byte `offset`, or undefined when it cannot be read back as a record. */
  record(offset: number): Record<string, unknown> | undefined {
    if (!Number.isInteger(offset) || offset < 0) return undefined;
    const line = this.lineAt(offset)?.text;
    if (line === undefined) return undefined;
    const text = line.trim();
    if (text.startsWith('{')) {
      try {
        const v: unknown = JSON.parse(text);
        return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    }
    const header = this.csvHeader();
    const values = splitCsvLine(line);
    if (header === undefined || typeof values === 'string') return undefined;
    const out: Record<string, unknown> = {};
    header.forEach((name, i) => {
      if (i < values.length) out[name] = values[i];
    });
    return out;
  }

  /** Closes the file (a later `record` opens it again). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The text of the line at `offset` without its line end, and the offset of the next line; undefined past the end of the file. */
  private lineAt(offset: number): { text: string; next: number } | undefined {
    this.fd ??= openSync(this.path, 'r');
    const buf = Buffer.allocUnsafe(MAX_LINE);
    const n = readSync(this.fd, buf, 0, MAX_LINE, offset);
    if (n === 0) return undefined;
    let end = buf.indexOf(10);
    if (end < 0 || end > n) end = n;
    const next = offset + end + 1;
    if (end > 0 && buf[end - 1] === 13) end--;
    return { text: buf.toString('utf8', 0, end), next };
  }

  /** The CSV header: the file's first non-blank line, split into names. */
  private csvHeader(): string[] | undefined {
    if (this.header !== undefined) return this.header;
    let offset = 0;
    for (;;) {
      const line = this.lineAt(offset);
      if (line === undefined) return undefined;
      if (line.text.trim().length > 0) {
        const names = splitCsvLine(line.text.replace(/^\uFEFF/, ''));
        if (typeof names === 'string') return undefined;
        this.header = names.map((s) => s.trim());
        return this.header;
      }
      offset = line.next;
    }
  }
}
