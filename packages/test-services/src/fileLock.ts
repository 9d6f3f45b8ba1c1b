import { closeSync, openSync, rmSync, statSync } from 'node:fs';

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL), so
 * that test workers in several processes do not install or build the same
 * thing at once. A lock older than `staleMs` is taken as left by a dead
 * process and removed.
 */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, staleMs = 600_000): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(path).mtimeMs > staleMs) rmSync(path, { force: true });
      } catch {
        // The holder released it meanwhile.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
