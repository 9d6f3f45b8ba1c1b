import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { BlockScanner } from './blockScanner.js';
import type { BlockResult, BlockTask, ScanSettings } from './blockScanner.js';

// Where scanTradeFile's blocks are scanned: worker threads started from this
// module's own (built) file, or lanes on the calling thread. The worker side
// lives here too, so that the file a worker is started from runs it.

/** Runs blocks somewhere (worker threads, or in-thread for tests): one lane per worker, blocks in order within a lane. */
export interface BlockRunner {
  start(settings: ScanSettings, lanes: number): Promise<BlockLanes>;
}

/** Started lanes. */
export interface BlockLanes {
  /** Queues a block on a lane; resolves with its result. */
  run(lane: number, task: BlockTask): Promise<BlockResult>;
  /** Stops every lane. */
  close(): Promise<void>;
}

/** Lanes on the calling thread (for tests and for single-core machines). */
export const inThreadRunner: BlockRunner = {
  start(settings, lanes) {
    const scanners = Array.from({ length: lanes }, () => new BlockScanner(settings));
    return Promise.resolve({
      run: (lane, task) => Promise.resolve(scanners[lane]!.scanBlock(task)),
      close: () => {
        for (const s of scanners) s.close();
        return Promise.resolve();
      },
    });
  },
};

const WORKER_FLAG = 'tickflowTradeScanWorker';

/** Worker threads started from this module's file (the built one: sources under a TypeScript loader cannot be started as workers). */
export function workerRunner(moduleUrl: string): BlockRunner {
  return {
    start(settings, lanes) {
      const workers: Worker[] = [];
      const pending: Map<number, { resolve: (r: BlockResult) => void; reject: (e: Error) => void }>[] = [];
      for (let lane = 0; lane < lanes; lane++) {
        const w = new Worker(new URL(moduleUrl), { workerData: { [WORKER_FLAG]: true, settings } });
        const waiting = new Map<number, { resolve: (r: BlockResult) => void; reject: (e: Error) => void }>();
        w.on('message', (m: BlockResult | { index: number; error: string }) => {
          const p = waiting.get(m.index);
          waiting.delete(m.index);
          if ('error' in m) p?.reject(new Error(m.error));
          else p?.resolve(m);
        });
        const failAll = (e: Error): void => {
          for (const p of waiting.values()) p.reject(e);
          waiting.clear();
        };
        w.on('error', failAll);
        w.on('exit', (code) => {
          if (waiting.size > 0) failAll(new Error(`trade scan worker exited with code ${code}`));
        });
        workers.push(w);
        pending.push(waiting);
      }
      return Promise.resolve({
        run(lane, task) {
          return new Promise<BlockResult>((resolve, reject) => {
            pending[lane]!.set(task.index, { resolve, reject });
            workers[lane]!.postMessage(task);
          });
        },
        async close() {
          await Promise.all(workers.map((w) => w.terminate()));
        },
      });
    },
  };
}

// The worker side: this same module, started with the flag in workerData.
if (!isMainThread && parentPort !== null && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true) {
  const port = parentPort;
  const scanner = new BlockScanner((workerData as { settings: ScanSettings }).settings);
  port.on('message', (task: BlockTask) => {
    try {
      const r = scanner.scanBlock(task);
      port.postMessage(r, [r.symbol.buffer, r.ts.buffer, r.price.buffer, r.size.buffer, r.side.buffer, r.lines.buffer, r.offsets.buffer] as ArrayBuffer[]);
    } catch (e) {
      port.postMessage({ index: task.index, error: e instanceof Error ? e.message : String(e) });
    }
  });
}

/** This module's own URL when it can be started as a worker (a built .js file), else undefined. */
export function ownWorkerUrl(): string | undefined {
  try {
    const url = import.meta.url;
    return typeof url === 'string' && /\.m?js$/.test(url) ? url : undefined;
  } catch {
    return undefined;
  }
}
