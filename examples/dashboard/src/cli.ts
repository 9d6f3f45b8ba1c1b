#!/usr/bin/env node
// The `tickflow` command (bin of @tickflow/dashboard).
import { main } from './main.js';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // `tickflow aggregate … | head` closes the pipe early: stop quietly.
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tickflow: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
