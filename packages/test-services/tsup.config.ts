import { defineConfig } from 'tsup';
import { tsupOptions } from '../../tsup.base';

// ESM only: the benchmarks (plain .mjs) import the built harness. `eventually` is its own entry so
// unit tests can wait on a condition without loading the service starters (and their drivers).
export default defineConfig(tsupOptions({ index: 'src/index.ts', eventually: 'src/eventually.ts' }, { format: ['esm'], platform: 'node', external: [/^@electric-sql\//, /^@unni-craftsman\//] }));
