// The fault tests' run basics: the cache folder, the log, the lock that lets
// one fault test at a time load the machine, and bundling child scripts. The
// rest of the harness: kafkaTopic.ts (kcat production, read-back, committed
// offsets), postgresDatabases.ts, worker.ts (killable processes), crashRun.ts
// (the scripted crash run) and settle.ts.
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { bundleScript, repoRoot } from '../bundleScript.js';

export { repoRoot };

export const CACHE = join(repoRoot(), '.cache', 'fault-tests');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A log that goes to the console and to `.cache/fault-tests/<name>.log`. */
export class Log {
  readonly path: string;
  private readonly t0 = Date.now();

  constructor(readonly name: string) {
    mkdirSync(CACHE, { recursive: true });
    this.path = join(CACHE, `${name}.log`);
    writeFileSync(this.path, '');
  }

  line(text: string): void {
    const s = `[${this.name} +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${text}`;
    appendFileSync(this.path, `${s}\n`);
    console.info(s);
  }
}

/**
 * The two fault tests each load the whole machine (2 cores): they take it in
 * turn, through a lock folder holding the owner's pid (a dead owner's lock is
 * taken over).
 */
export async function machineLock(timeoutMs: number): Promise<() => void> {
  const dir = '/tmp/tickflow-fault-tests.lock';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // being written
      }
      let dead = false;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
        } catch {
          dead = true;
        }
      }
      if (dead) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`the other fault test (pid ${owner}) held the machine for ${timeoutMs} ms`);
      else await sleep(500);
    }
  }
}

/**
 * Bundles a script from the workspace sources (`@tickflow/source`), npm
 * packages left external, into .cache/fault-tests, as `<label>.<pid>.mjs` or
 * as `fileName` (the server finds its ingest worker as `ingestWorker.js` beside it).
 */
export async function bundle(entry: string, label: string, fileName?: string): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  // FAULT_SOURCE_ROOT: a copy of the repository (e.g. `git archive` of a commit, with node_modules
  // whose @tickflow links point into it) whose sources to test instead of this work tree's.
  const root = process.env.FAULT_SOURCE_ROOT;
  if (root !== undefined && root !== '') {
    const rel = relative(repoRoot(), entry);
    const target = join(root, rel);
    if (rel.startsWith(join('examples', 'dashboard', 'test', 'faults'))) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(entry, target);
    }
    entry = target;
  }
  return bundleScript(entry, join(CACHE, fileName ?? `${label}.${process.pid}.mjs`));
}
