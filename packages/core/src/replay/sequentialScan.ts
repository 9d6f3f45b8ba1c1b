import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import type { ScanTradesOptions } from './scanTrades.js';
import type { ScannedBatch, TradeScanner } from './tradeScanner.js';

/** Read size of the sequential path: one reused buffer, large enough to keep the scanner in its loop. */
const SEQUENTIAL_CHUNK = 1 << 20;

/** Chunks read between two turns of the event loop on the sequential path (timers and signals run then). */
const CHUNKS_PER_TURN = 8;

/**
 * Scans a plain text file from byte `pos` to its end on this thread with the
 * given scanner: synchronous reads into one reused buffer (no allocation per
 * chunk, no thread-pool round trip), lines cut by a chunk carried over by
 * moving them to the front. Batches of at least `minBatch` rows.
 */
export async function* scanSequential(path: string, pos: number, scanner: TradeScanner, options: ScanTradesOptions): AsyncGenerator<ScannedBatch> {
  const minBatch = options.minBatch ?? 16_384;
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(SEQUENTIAL_CHUNK);
    let carry = 0;
    for (let chunk = 1; ; chunk++) {
      if (options.signal?.aborted === true) return;
      if (carry === buf.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, carry);
        buf = bigger;
      }
      const n = readSync(fd, buf, carry, buf.length - carry, pos);
      const at = pos - carry; // file offset of buf[0]
      pos += n;
      options.onBytes?.(n);
      const end = carry + n;
      if (n === 0) {
        if (end > 0) scanner.scan(buf, 0, end, true, at);
        yield scanner.take();
        return;
      }
      const nl = buf.lastIndexOf(10, end - 1);
      if (nl >= 0) {
        scanner.scan(buf, 0, nl + 1, false, at);
        buf.copy(buf, 0, nl + 1, end);
        carry = end - nl - 1;
      } else {
        carry = end;
      }
      if (scanner.length >= minBatch || scanner.deadLetterCount >= 1024) yield scanner.take();
      if (chunk % CHUNKS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}
