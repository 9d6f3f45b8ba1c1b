import { PassThrough, Readable } from 'node:stream';
import { aggregateMain } from '../src/aggregateCommand.js';
import { main } from '../src/main.js';

/** Runs `tickflow aggregate` in process (its own entry, as `main` hands it on); resolves with its exit code and what it wrote. */
export async function aggregate(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await aggregateMain(args, { stdin: Readable.from([stdin]), stdout, stderr });
  return { code, out, err };
}

/** Runs the `tickflow` CLI in process with `stdin` as input; resolves with its exit code and what it wrote. */
export async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdin: Readable.from([stdin]), stdout, stderr, env: {} });
  return { code, out, err };
}
