import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The part of chDB's `Session` (an in-process ClickHouse engine) the tests use. */
export interface ChdbSession {
  readonly path: string;
  /** Runs SQL and returns the output as text (default format CSV); throws on error. */
  query(sql: string, format?: string): string;
  /** Releases the engine (and deletes the folder when it was a temporary one). */
  close(): void;
  /** Like close(), and removes the session's folder. */
  cleanup(): void;
}

/** The chDB module, as far as the tests use it. */
export interface ChdbModule {
  /** A session on a folder (a temporary one when omitted): databases and tables persist in it until closed. */
  readonly Session: new (path?: string) => ChdbSession;
  /** Version of the embedded engine (e.g. `{ libchdb: '26.1.2.1' }`). */
  readonly version?: () => { readonly libchdb: string };
}

/**
 * chDB's `chdb/connection` entry: a `Connection` for `@clickhouse/client`'s
 * `createClient({ connection })` that runs every request in-process.
 * Typed loosely here so the harness does not depend on @clickhouse/client.
 */
export interface ChdbConnectionModule {
  createChdbConnection(options?: { readonly path?: string }): unknown;
}

const VERSION = 'chdb@3';

function repoRoot(): string {
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

/** Folder chDB is installed into: `<repo>/.cache/chdb` (gitignored). */
export function chdbCacheDir(): string {
  return join(repoRoot(), '.cache', 'chdb');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function ensureInstalled(cache: string): Promise<void> {
  const installed = (): boolean => existsSync(join(cache, 'node_modules', 'chdb', 'package.json')) && existsSync(join(cache, 'node_modules', '@chdb'));
  if (installed()) return;
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, '.install.lock');
  // One installer at a time across test workers; a lock older than 15 minutes is stale.
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 900_000) rmSync(lock, { force: true });
      } catch {
        // Released meanwhile.
      }
      await sleep(500);
    }
  }
  try {
    if (installed()) return;
    console.error(`installing ${VERSION} (first use, ~540 MB) into ${cache} …`);
    const r = spawnSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--no-save', '--no-package-lock', VERSION], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0 || !installed()) {
      throw new Error(`npm install ${VERSION} into ${cache} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-3000)}`);
    }
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Loads chDB (an in-process ClickHouse engine, ClickHouse 26.x) for tests
 * of modern ClickHouse DDL (TTL, DateTime64, LowCardinality). chDB is about
 * 540 MB, so it is no dependency of any package: it is installed with npm
 * on first use into `<repo>/.cache/chdb` and loaded from there.
 *
 * @example
 * ```ts
 * const { Session } = await loadChdb();
 * const session = new Session();
 * console.log(session.query('SELECT version()'));
 * session.cleanup();
 * ```
 */
export async function loadChdb(): Promise<ChdbModule> {
  const cache = chdbCacheDir();
  await ensureInstalled(cache);
  return createRequire(join(cache, 'package.json'))('chdb') as ChdbModule;
}

/**
 * Loads chDB's `chdb/connection` entry (installing chDB first when needed):
 * pass `createChdbConnection({ path })` to `@clickhouse/client`'s
 * `createClient({ connection })` to run a ClickHouse client in-process.
 *
 * @example
 * ```ts
 * const { createChdbConnection } = await loadChdbConnection();
 * const client = createClient({ connection: createChdbConnection({ path: dir }) as Connection<Readable> });
 * ```
 */
export async function loadChdbConnection(): Promise<ChdbConnectionModule> {
  const cache = chdbCacheDir();
  await ensureInstalled(cache);
  return createRequire(join(cache, 'package.json'))('chdb/connection') as ChdbConnectionModule;
}
