import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Tests run against each package's src through the "@tickflow/source" export condition: no build needed.
const conditions = ['@tickflow/source', 'module', 'node', 'import', 'default', 'development|production'];

const ROOTS = ['packages', 'examples', 'benchmarks', 'deploy/test'];
const BROWSER = /^examples\/[^/]+\/test\/browser\//;
/**
 * What makes a test an integration test: it starts services (the harness),
 * a reference server, a child process or a browser. Decided from the file's
 * imports, so a new test lands in the right project without a list to keep.
 * A file can also say so in a line comment, `// vitest project: integration`
 * (a stress test that needs no service but takes seconds).
 */
const INTEGRATION = [/@tickflow\/test-services/, /startReferenceServer|serverProcess|startServer\(/, /launchChromium|browserKit/, /node:child_process/, /kafkaTestKit|faultKit|runCli|childScripts/, /^\/\/ vitest project: integration/m];

function testFiles(): string[] {
  return ROOTS.flatMap((root) => readdirSync(new URL(root, import.meta.url), { recursive: true, encoding: 'utf8' }).map((f) => `${root}/${f}`)).filter((f) => f.endsWith('.test.ts') && !/node_modules|\/dist\/|\/\.cache\//.test(f));
}

const files = testFiles();
const browser = files.filter((f) => BROWSER.test(f));
const integration = files.filter((f) => !BROWSER.test(f) && (f.startsWith('packages/test-services/') || INTEGRATION.some((m) => m.test(readFileSync(new URL(f, import.meta.url), 'utf8')))));
const unit = files.filter((f) => !browser.includes(f) && !integration.includes(f));

// Three projects: `npm run test:unit` (no services, about a minute),
// `test:integration` (real services, servers, child processes) and
// `test:browser` (Chromium, one file at a time). `npm test` runs all three.
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@tickflow/source'] } },
  test: {
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      // Unit tests run in worker threads (~15% less wall time than forked processes here) without a fresh
      // module graph per file (isolate: false): importing the workspace sources again for each of the ~70
      // files was most of the run (62–68 s → 28–31 s on 2 cores; the files pass in shuffled order too).
      // A unit test file must therefore undo what it changes globally (fake timers, env, mocks).
      { extends: true, test: { name: 'unit', include: unit, pool: 'threads', isolate: false } },
      { extends: true, test: { name: 'integration', include: integration } },
      { extends: true, test: { name: 'browser', include: browser, fileParallelism: false } },
    ],
  },
});
