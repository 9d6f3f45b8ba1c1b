import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

export default defineConfig(
  tsupOptions(
    { index: 'src/index.ts', cli: 'src/cli.ts', ingestWorker: 'src/server/ingestWorker.ts' },
    { format: ['esm'], platform: 'node', external: ['@tickflow/core', '@tickflow/windowing'], banner: { js: '' } },
  ),
);
