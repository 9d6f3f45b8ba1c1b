import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleScript, repoCacheDir, repoRoot } from '../bundleScript.js';

const here = dirname(fileURLToPath(import.meta.url));

/** `<repo>/.cache/tracing-tests`: inside the repository, so the bundles' external packages resolve from its node_modules. */
export function cacheDir(): string {
  return repoCacheDir('tracing-tests');
}

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a child script of this folder from the workspace's TypeScript
 * sources (`@tickflow/source`), every npm package left external (loaded from
 * node_modules at run time, so what the child loads is observable).
 */
export function bundleChild(name: string): Promise<string> {
  let p = bundles.get(name);
  if (p === undefined) {
    p = bundleScript(join(here, `${name}.ts`), join(cacheDir(), `${name}.${process.pid}.mjs`));
    bundles.set(name, p);
  }
  return p;
}

/** The dashboard's build (`npm run build`): the CLI, with the ingest worker beside it. */
export function builtCli(): string {
  const cli = join(repoRoot(), 'examples', 'dashboard', 'dist', 'cli.js');
  if (!existsSync(join(dirname(cli), 'ingestWorker.js'))) throw new Error(`${cli} and its ingestWorker.js are missing: run npm run build first`);
  return cli;
}

/** Runs a bundled child to its end; rejects with its stderr when it fails. */
export async function runChild(script: string, env: Record<string, string | undefined>, nodeArgs: readonly string[] = []): Promise<{ out: string; err: string }> {
  const child = spawn(process.execPath, [...nodeArgs, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${err}`);
  return { out, err };
}

/**
 * Writes a `--import` module that records every module the process loads:
 * ESM URLs through a resolve hook (module.register) and, at `report()`, the
 * CommonJS require cache. Returns its path.
 */
export function loadRecorder(): string {
  const dir = cacheDir();
  const hooks = join(dir, 'loadHooks.mjs');
  writeFileSync(hooks, 'let port;\nexport function initialize(data) { port = data.port; }\nexport async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }\n');
  const register = join(dir, 'loadRecorder.mjs');
  writeFileSync(
    register,
    [
      "import { register } from 'node:module';",
      "import { MessageChannel } from 'node:worker_threads';",
      'const loaded = new Set();',
      'const { port1, port2 } = new MessageChannel();',
      'port1.on("message", (u) => loaded.add(u));',
      'port1.unref();',
      "register('./loadHooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });",
      "globalThis.__tickflowLoaded = () => [...loaded];",
      '',
    ].join('\n'),
  );
  return register;
}

/** A child process that runs until stopped: its output so far, and a stop that signals it and waits for its exit. */
export interface LongChild {
  /** Lines of stdout so far. */
  readonly lines: () => string[];
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/**
 * Starts a long-running child (`node script ...args`) and resolves with the
 * first match of `ready` (group 1) in its stdout or stderr, e.g. its URL.
 */
export async function startLongChild(script: string, env: Record<string, string | undefined>, { args = [], ready = /^ready (.+)$/m }: { args?: readonly string[]; ready?: RegExp } = {}): Promise<{ ready: string; child: LongChild }> {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const found = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      const m = ready.exec(err) ?? ready.exec(out);
      if (m !== null) resolve(m[1]!);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      look();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      look();
    });
    void exited.then(() => reject(new Error(`${script} exited before it was ready: ${err}`)));
  });
  return {
    ready: found,
    child: {
      lines: () => out.split('\n').filter((l) => l.trim() !== ''),
      stderr: () => err,
      async stop() {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
      },
    },
  };
}
