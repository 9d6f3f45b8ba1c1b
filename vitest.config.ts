import { defineConfig } from 'vitest/config';

// Tests run against each package's src through the "@tickflow/source" export condition: no build needed.
const conditions = ['@tickflow/source', 'module', 'node', 'import', 'default', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@tickflow/source'] } },
  test: {
    include: ['packages/*/{src,test}/**/*.test.ts', 'examples/*/{src,test}/**/*.test.ts', 'benchmarks/**/*.test.ts', 'deploy/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
