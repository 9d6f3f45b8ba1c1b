#!/usr/bin/env node
// `npx tickflow …` from the repository root: the root package's bin runs the
// built CLI of examples/dashboard (built by `npm start` or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../examples/dashboard/dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(
    'tickflow: the CLI is not built yet (examples/dashboard/dist/cli.js is missing).\n' +
      'Run `npm run build` (or `npm start`) at the repository root first.\n',
  );
  process.exit(1);
}
await import(pathToFileURL(cli).href);
