import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from './fileLock.js';

/** A program a test needs and the Debian package that provides it. */
export interface DebianProgram {
  readonly binary: string;
  readonly pkg: string;
}

const LOCK = join(tmpdir(), 'tickflow-apt.lock');
const UPDATED = join(tmpdir(), 'tickflow-apt-updated');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-4000)}`);
  }
}

/**
 * Installs the Debian packages of the programs that are missing (as root,
 * `apt-get update` once per machine boot, then `apt-get install -y`). A
 * machine without root and without the programs gets an error naming the
 * packages to install or the env var to point at a running server instead.
 */
export async function ensureDebianPrograms(programs: readonly DebianProgram[], envHint: string): Promise<void> {
  const missing = () => programs.filter((p) => !existsSync(p.binary));
  if (missing().length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing().map((p) => p.binary).join(', ')}: install the Debian packages ${missing().map((p) => p.pkg).join(' ')} (or set ${envHint} to a running server)`);
  }
  await withFileLock(LOCK, () => {
    const still = missing();
    if (still.length === 0) return;
    if (!existsSync(UPDATED)) {
      run('apt-get', ['update', '-qq']);
      closeSync(openSync(UPDATED, 'w'));
    }
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...new Set(still.map((p) => p.pkg))]);
  });
  const left = missing();
  if (left.length > 0) throw new Error(`apt-get installed ${left.map((p) => p.pkg).join(' ')} but ${left.map((p) => p.binary).join(', ')} is still missing`);
}
