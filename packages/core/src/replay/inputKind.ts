import { Buffer } from 'node:buffer';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import type * as Fzstd from 'fzstd';
import { TickflowError } from '../errors.js';

/** What the first bytes of an input say it is. */
export type InputKind = 'text' | 'gzip' | 'zstd' | 'parquet' | 'arrow' | 'zip' | 'bzip2' | 'xz' | 'binary';

/**
 * Tells an input's kind from its first bytes (at least 8 when the input has
 * them): gzip `1f 8b`, zstd `28 b5 2f fd`, Parquet `PAR1`, Arrow IPC
 * `ARROW1` (file) or `ff ff ff ff` (stream), zip, bzip2, xz; otherwise text
 * unless it holds NUL or other control bytes.
 *
 * @example
 * ```ts
 * sniffInput(Buffer.from([0x1f, 0x8b, 8, 0])); // 'gzip'
 * ```
 */
export function sniffInput(head: Uint8Array): InputKind {
  const b = head;
  const n = b.length;
  if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (n >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  if (n >= 4 && b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31) return 'parquet';
  if (n >= 6 && Buffer.from(b.buffer, b.byteOffset, 6).toString('latin1') === 'ARROW1') return 'arrow';
  if (n >= 4 && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff) return 'arrow';
  if (n >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'zip';
  if (n >= 3 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2';
  if (n >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0x00) return 'xz';
  const look = Math.min(n, 512);
  for (let i = 0; i < look; i++) {
    const c = b[i]!;
    if (c < 9 || (c > 13 && c < 32)) return 'binary';
  }
  return 'text';
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform };

/**
 * A decompressing stream for gzip (node:zlib) or zstd: node:zlib's where the
 * running Node has it (22.15+), else fzstd (pure JavaScript, from npm).
 */
export async function decompressor(kind: 'gzip' | 'zstd'): Promise<Transform> {
  if (kind === 'gzip') return zlib.createGunzip();
  const native = (zlib as ZlibWithZstd).createZstdDecompress;
  if (typeof native === 'function') return native();
  let fzstd: typeof Fzstd;
  try {
    fzstd = await import('fzstd');
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', 'zstd input needs the fzstd package on Node < 22.15: npm install fzstd (or decompress first: zstdcat file | tickflow aggregate)', { cause: e });
  }
  return zstdTransform(fzstd);
}

function zstdTransform(fzstd: typeof Fzstd): Transform {
  const out: Uint8Array[] = [];
  const stream = new fzstd.Decompress((chunk) => {
    out.push(chunk);
  });
  const drain = (t: Transform): void => {
    for (const c of out) t.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    out.length = 0;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        stream.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        drain(this);
        cb();
      } catch (e) {
        cb(new TickflowError('SOURCE_FAILED', `zstd input is corrupt: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
    },
    flush(cb) {
      try {
        stream.push(new Uint8Array(0), true);
        drain(this);
        cb();
      } catch (e) {
        cb(new TickflowError('SOURCE_FAILED', `zstd input is corrupt or cut short: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
    },
  });
}
