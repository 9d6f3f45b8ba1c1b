// One way to run a test's child script: bundle it with esbuild from the workspace's TypeScript
// sources (the `@tickflow/source` condition), every npm package left external (loaded from
// node_modules at run time). Used by the fault kit, the Kafka kit and the tracing children.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root: the nearest folder up whose package.json has workspaces. */
export function repoRoot(): string {
  let dir = here;
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { workspaces?: unknown }).workspaces === undefined) dir = dirname(dir);
  return dir;
}

/** `<repo>/.cache/<name>`, created: inside the repository, so bundles' external packages resolve from its node_modules. */
export function repoCacheDir(name: string): string {
  const dir = join(repoRoot(), '.cache', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Bundles `entry` into `outfile` (ESM for Node 20): the workspace's sources inside, npm packages and Node built-ins external. */
export async function bundleScript(entry: string, outfile: string): Promise<string> {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@tickflow/source'],
    logLevel: 'error',
    plugins: [{ name: 'npm-external', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@tickflow/') ? undefined : { path: a.path, external: true })) }],
  });
  return outfile;
}
