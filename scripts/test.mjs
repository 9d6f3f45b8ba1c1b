#!/usr/bin/env node
// `npm test`: build every package, type-check and lint, then run every test
// (unit, property, integration) with vitest, and print one closing line
// "tests: N passed, N failed". Services that tests need are started by the
// tests' own harness.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'test-output');
mkdirSync(outDir, { recursive: true });

function run(label, cmd, args) {
  console.log(`\n▶ ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status ?? 1;
}

const npx = 'npx';
const steps = [
  ['build', npx, ['turbo', 'run', 'build', '--output-logs=errors-only']],
  ['typecheck', npx, ['turbo', 'run', 'typecheck', '--output-logs=errors-only']],
  ['lint', npx, ['turbo', 'run', 'lint', '--output-logs=errors-only']],
  // The public API reports in api/ must match the build (scripts/apiReport.mjs; `npm run api:update` rewrites them).
  ['api report', 'node', ['scripts/apiReport.mjs', '--check']],
  // Every workspace declares what it imports (npm's hoisting would hide a missing one).
  ['declared dependencies', 'node', ['scripts/check-deps.mjs']],
  // deploy/test (the deployment kit's checks) is not a workspace package: checked here.
  ['typecheck deploy', npx, ['tsc', '-p', 'deploy/tsconfig.json', '--noEmit']],
  ['lint deploy', npx, ['eslint', 'deploy/test']],
];
for (const [label, cmd, args] of steps) {
  const code = run(label, cmd, args);
  if (code !== 0) {
    console.error(`\n${label} failed (exit ${code})`);
    console.log('tests: 0 passed, 1 failed');
    process.exit(code);
  }
}

const report = join(outDir, 'vitest.json');
const extra = process.argv.slice(2);
const code = run('tests', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);
let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  const failedTests = r.numFailedTests ?? 0;
  const failedSuites = r.numFailedTestSuites ?? 0;
  // A suite that fails to load has no failed tests; count it as one failure.
  failed = failedTests + (failedTests === 0 ? failedSuites : 0);
}
if (code !== 0 && failed === 0) failed = 1;
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
