import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InMemoryMarketStore } from './server/marketStore.js';
import { startReferenceServer } from './server/referenceServer.js';

/** Options of `serveCommand` (the programmatic `tickflow serve`; the CLI takes every setting, see `tickflow serve --help`). */
export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly symbols: number;
  readonly rate: number;
  readonly seed: number;
  /** Timeframes given with --timeframe (the first is the one of GET /api/symbols). */
  readonly timeframes: string[];
  /** Log each final 1m candle. */
  readonly print: boolean;
  /** Folder of the audit log. Default: a new temporary folder (the CLI defaults to `.tickflow`). */
  readonly dataDir?: string;
}

/** A running server: its address and a way to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly store: InMemoryMarketStore;
  close(): Promise<void>;
}

/**
 * `tickflow serve`, embedded mode, started from code: the reference server
 * (src/server) with the synthetic feed, quiet logs.
 */
export async function serveCommand(o: ServeOptions, log: (line: string) => void = console.log): Promise<RunningServer> {
  const server = await startReferenceServer({
    port: o.port,
    host: o.host,
    symbols: o.symbols,
    rate: o.rate,
    seed: o.seed,
    liveTimeframes: o.timeframes.join(','),
    print: o.print,
    dataDir: o.dataDir ?? mkdtempSync(join(tmpdir(), 'tickflow-serve-')),
    logLevel: 'silent',
  });
  log(`tickflow serve: live dashboard on ${server.url}`);
  return server;
}
