import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

// ESM only: the benchmarks (plain .mjs) import the built harness.
export default defineConfig(tsupOptions({ index: 'src/index.ts' }, { format: ['esm'], platform: 'node', external: [/^@electric-sql\//, /^@unni-craftsman\//] }));
