import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RunningService } from './runningService.js';
import { externalService, killOnExit, stopChild } from './runningService.js';

// The same relative path works from src/timescale.ts and from the bundled
// dist/index.js, so the script needs no build step.
const SERVER_SCRIPT = fileURLToPath(new URL('../src/timescaleServer.mjs', import.meta.url));

/** Options of startTimescale. */
export interface TimescaleOptions {
  /** Ignore TIMESCALE_URL and always start a server. Default false. */
  readonly ownServer?: boolean;
  /** Keep the database in a temporary folder instead of memory (slower; survives nothing, it is removed on stop). Default false. */
  readonly onDisk?: boolean;
  /** Longest wait for the server to accept connections. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/**
 * A TimescaleDB-enabled PostgreSQL on 127.0.0.1 and a free port: PGlite
 * (PostgreSQL 17 in WASM) with the timescaledb 2.23 extension, served over
 * the wire protocol by `@electric-sql/pglite-socket` in a child Node process
 * (`timescaleServer.mjs`), killed on `stop()` and when this process exits.
 * Or the server at TIMESCALE_URL when set.
 *
 * It serves ONE connection at a time (PGlite is a single-user backend): a
 * second connection waits until the first closes. Use a pool of one
 * (`postgres(url, { max: 1 })`) and `onnotice: () => {}` (it sends DEBUG
 * notices).
 *
 * @example
 * ```ts
 * const ts = await startTimescale();
 * const sql = postgres(ts.url, { max: 1, onnotice: () => {} });
 * await sql`SELECT create_hypertable('trades', by_range('time'))`;
 * await sql.end();
 * await ts.stop();
 * ```
 */
export async function startTimescale({ ownServer = false, onDisk = false, startTimeoutMs = 60_000 }: TimescaleOptions = {}): Promise<RunningService> {
  const fromEnv = process.env.TIMESCALE_URL;
  if (fromEnv && !ownServer) return externalService(fromEnv);
  const dir = onDisk ? mkdtempSync(join(tmpdir(), 'tickflow-timescale-')) : undefined;
  const args = [SERVER_SCRIPT, '--host', '127.0.0.1', '--port', '0'];
  if (dir !== undefined) args.push('--data-dir', join(dir, 'data'));
  // stdin stays a pipe: the server exits when it closes, so it dies with us even on SIGKILL.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const forget = killOnExit(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const cleanup = (): void => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the TimescaleDB (PGlite) server did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`the TimescaleDB (PGlite) server printed "${line}" instead of its port`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the TimescaleDB (PGlite) server exited (${code ?? signal}) before it was ready:\n${stderr}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    forget();
    cleanup();
    throw e;
  }
  child.stdout.resume();
  return {
    // PGlite asks for a password (any is accepted).
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    host: '127.0.0.1',
    port,
    external: false,
    async stop() {
      await stopChild(child);
      forget();
      cleanup();
    },
  };
}
