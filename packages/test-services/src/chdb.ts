import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { withFileLock } from './fileLock.js';
import { repoCacheDir } from './repoCache.js';

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

/** Folder chDB is installed into: `<repo>/.cache/chdb` (gitignored). */
export function chdbCacheDir(): string {
  return repoCacheDir('chdb');
}

async function ensureInstalled(cache: string): Promise<void> {
  const installed = (): boolean => existsSync(join(cache, 'node_modules', 'chdb', 'package.json')) && existsSync(join(cache, 'node_modules', '@chdb'));
  if (installed()) return;
  mkdirSync(cache, { recursive: true });
  // One installer at a time across test workers; a lock older than 15 minutes is stale.
  await withFileLock(join(cache, '.install.lock'), () => {
    if (installed()) return;
    console.error(`installing ${VERSION} (first use, ~540 MB) into ${cache} …`);
    const r = spawnSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--no-save', '--no-package-lock', VERSION], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0 || !installed()) {
      throw new Error(`npm install ${VERSION} into ${cache} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-3000)}`);
    }
  }, 900_000);
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
