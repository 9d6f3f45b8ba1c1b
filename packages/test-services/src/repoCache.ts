import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the first folder above this package with a package.json that has `workspaces`. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }).workspaces !== undefined) return dir;
      } catch {
        // Not a readable package.json: keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('could not find the tickflow repository root (a package.json with "workspaces") above the test-services package');
    dir = up;
  }
}

/** `<repo>/.cache/<name>` (gitignored): where tools built or installed on first use are kept. */
export function repoCacheDir(name: string): string {
  return join(repoRoot(), '.cache', name);
}
