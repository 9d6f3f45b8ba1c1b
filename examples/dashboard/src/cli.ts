#!/usr/bin/env node
// The `tickflow` command (bin of @tickflow/dashboard).
import { aggregateMain } from './aggregateCommand.js';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // `tickflow aggregate … | head` closes the pipe early: stop quietly.
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
const [command, ...rest] = process.argv.slice(2);
const isHelp = (a: string): boolean => a === '--help' || a === '-h';

// `aggregate` parses its own flags (inputs, time units, outputs, stores) and
// `produce --help` prints produce's own options; the rest goes to main.
// The server stack (fastify, drivers) is loaded only for the commands that need it,
// so a backfill starts in a few tens of milliseconds.
async function run(): Promise<number> {
  if (command === 'aggregate') return aggregateMain(rest, io);
  if (command === 'produce' && rest.some(isHelp)) {
    const { PRODUCE_HELP } = await import('./produceCommand.js');
    process.stdout.write(PRODUCE_HELP);
    return 0;
  }
  const { main } = await import('./main.js');
  return main(process.argv.slice(2), io);
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tickflow: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
