import type { ChildProcess } from 'node:child_process';

/** A server started for tests. */
export interface RunningService {
  /** Connection URL (redis://…, postgres://…, http://…). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when the URL came from an env var (a server the developer runs); stop() then does nothing. */
  readonly external: boolean;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const cleanups = new Set<() => void>();
let hooked = false;

/** Makes sure a server child dies with the test process, even when a test run crashes. */
export function killOnExit(child: ChildProcess): () => void {
  const kill = (): void => {
    if (isRunning(child)) child.kill('SIGKILL');
  };
  cleanups.add(kill);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of cleanups) c();
    });
  }
  return () => cleanups.delete(kill);
}

/** True while a child process has neither exited nor been killed. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` to a running child and waits for it to exit (SIGKILL after `ms`); nothing when it already ended. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
  if (!isRunning(child)) return;
  child.kill(signal);
  await exited(child, ms);
}

/** Waits for a child to exit (or kills it after `ms`). */
export function exited(child: ChildProcess, ms = 10_000): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** An env-provided server. */
export function externalService(url: string): RunningService {
  const u = new URL(url);
  return { url, host: u.hostname, port: Number(u.port), external: true, stop: async () => {} };
}
