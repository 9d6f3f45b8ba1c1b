import { open } from 'node:fs/promises';
import type { Source, Trade } from '@tickflow/core';
import { TickflowError } from '@tickflow/core';
import type { TimeUnitOption } from '@tickflow/core/replay';
import { sniffInput } from '@tickflow/core/replay';

/** True when `path` is read as Parquet or Arrow IPC: by --format, else by its magic bytes. */
export async function isColumnarFormat(path: string, format: string): Promise<boolean> {
  if (format === 'parquet' || format === 'arrow') return true;
  if (format !== 'auto') return false;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    const kind = sniffInput(head.subarray(0, bytesRead));
    return kind === 'parquet' || kind === 'arrow';
  } finally {
    await fh.close();
  }
}

/** Settings of columnarFileSource. */
export interface ColumnarSourceOptions {
  readonly format: string;
  readonly timeUnit: TimeUnitOption;
  readonly name: string;
  readonly onBytes: (bytesSoFar: number) => void;
}

/** Trades from a Parquet or Arrow IPC file as columnar batches. */
export function columnarFileSource(path: string, o: ColumnarSourceOptions): Source<Trade> {
  return {
    name: o.name,
    read() {
      throw new TickflowError('INVALID_ARGUMENT', `${path}: Parquet and Arrow input are not supported yet`);
    },
  };
}
