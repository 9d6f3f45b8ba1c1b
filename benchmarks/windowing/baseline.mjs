// A baseline build of tickflow from another git revision, for before/after
// runs in the same benchmark run (`--baseline <rev>`): the revision's
// packages/core/src and packages/windowing/src are read with `git show` and
// bundled with esbuild into one module under benchmarks/.cache; child
// processes started with `--import ./baselineHooks.mjs` and
// TICKFLOW_BASELINE_LIB resolve @tickflow/core and @tickflow/windowing to it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

/** Builds (once per commit) and returns the path of the bundle of `rev`'s core and windowing sources. */
export async function prepareBaseline(rev) {
  const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 28 });
  const commit = git('rev-parse', '--verify', `${rev}^{commit}`).trim();
  const dir = join(repo, 'benchmarks', '.cache', 'windowing-baseline', commit);
  const lib = join(dir, 'lib.mjs');
  if (existsSync(lib)) return { commit, lib };
  for (const path of git('ls-tree', '-r', '--name-only', commit, '--', 'packages/core/src', 'packages/windowing/src', 'packages/core/package.json').split('\n')) {
    if (!(path.endsWith('.ts') || path.endsWith('package.json')) || path.endsWith('.test.ts')) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), git('show', `${commit}:${path}`));
  }
  const { build } = await import('esbuild');
  const core = join(dir, 'packages/core/src/index.ts');
  // @tickflow/core and its subpaths (e.g. /extend) resolve through the revision's own exports map.
  const coreDir = join(dir, 'packages/core');
  const coreExports = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')).exports;
  const coreSources = {
    name: 'baseline-core-sources',
    setup(b) {
      b.onResolve({ filter: /^@tickflow\/core(\/.*)?$/ }, (args) => {
        const entry = coreExports[`.${args.path.slice('@tickflow/core'.length)}`];
        const source = typeof entry === 'object' && entry !== null ? entry['@tickflow/source'] : undefined;
        if (typeof source !== 'string') return { errors: [{ text: `${args.path} is not a source entry of packages/core/package.json at ${commit.slice(0, 7)}` }] };
        return { path: join(coreDir, source) };
      });
    },
  };
  await build({
    stdin: { contents: `export * from ${JSON.stringify(core)}; export * from ${JSON.stringify(join(dir, 'packages/windowing/src/index.ts'))};`, resolveDir: dir, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [coreSources],
    nodePaths: [join(repo, 'node_modules')],
    // Dependencies the benchmark never reaches (Kafka, Parquet, …) stay imports.
    packages: 'external',
    outfile: lib,
    logLevel: 'error',
  });
  return { commit, lib };
}
