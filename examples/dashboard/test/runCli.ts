import { PassThrough, Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { aggregateMain } from '../src/aggregateCommand.js';
import { main } from '../src/main.js';

interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs a command with `stdin` as input and captured stdout/stderr; resolves with its exit code and what it wrote. */
async function captured(stdin: string, run: (io: { stdin: Readable; stdout: Writable; stderr: Writable }) => Promise<number>): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await run({ stdin: Readable.from([stdin]), stdout, stderr });
  return { code, out, err };
}

/** Runs `tickflow aggregate` in process (its own entry, as `main` hands it on); resolves with its exit code and what it wrote. */
export function aggregate(args: string[], stdin = ''): Promise<CliResult> {
  return captured(stdin, (io) => aggregateMain(args, io));
}

/** Runs the `tickflow` CLI in process with `stdin` as input; resolves with its exit code and what it wrote. */
export function cli(args: string[], stdin = ''): Promise<CliResult> {
  return captured(stdin, (io) => main(args, { ...io, env: {} }));
}
