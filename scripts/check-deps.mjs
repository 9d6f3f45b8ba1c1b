#!/usr/bin/env node
// Fails when a workspace imports a package its own package.json does not declare
// (dependencies, devDependencies, peerDependencies or optionalDependencies): an undeclared
// import works here only because npm hoists every workspace's dependencies into the root
// node_modules, and breaks for whoever installs the package alone.
//
// Every .ts/.tsx/.mts/.js/.mjs file of each workspace is read (node_modules, dist and caches
// skipped); imports, `import()`, `export … from` and `require()` are found by TypeScript's own
// pre-processor. Node built-ins and relative paths are fine. The root package.json's
// devDependencies (vitest, fast-check, esbuild, tsup, typescript, eslint: shared tooling) count
// as declared for tests and config files, never for what a workspace ships (`src/`, not tests).
//
// Usage: node scripts/check-deps.mjs   (run by `npm run lint` and `npm test`)
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = new URL('..', import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const SKIP = new Set(['node_modules', 'dist', '.cache', '.turbo', 'coverage', 'test-output']);
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;
const builtins = new Set(builtinModules);

/** The workspace folders named by the root package.json (`packages/*` style globs). */
function workspaces() {
  return rootPkg.workspaces.flatMap((w) => {
    if (!w.endsWith('/*')) return [w];
    const dir = w.slice(0, -2);
    return readdirSync(join(root, dir), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${dir}/${d.name}`);
  }).filter((w) => existsSync(join(root, w, 'package.json')));
}

function* sourceFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative paths, built-ins and URLs. */
export function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || /^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtins.has(name) ? undefined : name;
}

const declaredIn = (pkg) => new Set(['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {})));
const rootTooling = new Set(Object.keys(rootPkg.devDependencies ?? {}));

/**
 * Known gaps (workspace → packages it may import undeclared): the check still guards everything
 * else, and fails once an entry is declared, so the list only shrinks. None left.
 */
const KNOWN = {};

const problems = new Set();
const usedKnown = new Set();
let files = 0;
for (const ws of workspaces()) {
  const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
  const declared = declaredIn(pkg);
  for (const file of sourceFiles(join(root, ws))) {
    files++;
    const rel = relative(join(root, ws), file);
    const shipped = rel.startsWith('src/') && !/\.test\.[cm]?[jt]sx?$/.test(rel);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const name = packageOf(fileName);
      if (name === undefined || name === pkg.name || declared.has(name)) continue;
      if (!shipped && rootTooling.has(name)) continue;
      if (KNOWN[ws]?.includes(name)) {
        usedKnown.add(`${ws} ${name}`);
        continue;
      }
      problems.add(`${ws}/${rel}: imports '${name}' but ${ws}/package.json does not declare it`);
    }
  }
}

for (const [ws, names] of Object.entries(KNOWN)) {
  for (const name of names) if (!usedKnown.has(`${ws} ${name}`)) problems.add(`scripts/check-deps.mjs: KNOWN lists '${name}' for ${ws}, which now declares it (or no longer imports it): remove the entry`);
}

if (problems.size > 0) {
  console.error(`check-deps: ${problems.size} undeclared import(s):\n  ${[...problems].join('\n  ')}\nDeclare each with \`npm install -w <workspace> <package>\` (workspace packages: their exact version).`);
  process.exit(1);
}
console.log(`check-deps: every import of ${files} files in ${workspaces().length} workspaces is declared${usedKnown.size > 0 ? ` (known gaps: ${[...usedKnown].join(', ')})` : ''}`);
