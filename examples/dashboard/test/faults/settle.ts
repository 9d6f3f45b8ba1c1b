// Settling after a fault run: waiting until the worker has read everything,
// the stores are quiet and the group has committed to the end.
import type { Log } from './faultKit.js';
import { sleep } from './faultKit.js';
import { groupOffsets, sum } from './kafkaTopic.js';
import { pgFingerprint } from './postgresDatabases.js';
import type { Worker } from './worker.js';
import { assignedAll } from './worker.js';

/**
 * Waits until the worker has read everything (`total` messages on the topic
 * and no lag), the partitions have been quiet long enough for the idle
 * timeout to close the windows, and the worker and the PostgreSQL store
 * have been unchanged for `quietMs`. Then waits (up to `commitWaitMs`) for
 * every partition's committed offset to reach the high watermark. Soft:
 * reports what it reached instead of throwing.
 */
export async function settle(o: { worker: Worker; log: Log; brokers: readonly string[]; group: string; topic: string; partitions: number; pgUrl: string; pgSchema?: string; quietMs: number; timeoutMs: number; commitWaitMs: number }): Promise<{ quiet: boolean; caughtUp: boolean; committedToEnd: boolean; behindCommit: number; lag: number; late: number }> {
  const t0 = Date.now();
  let last = '';
  let since = Date.now();
  let quiet = false;
  let caughtUp = false;
  let lag = -1;
  let late = 0;
  while (Date.now() - t0 < o.timeoutMs) {
    const s = await o.worker.poll().catch(() => undefined);
    const pgf = await pgFingerprint(o.pgUrl, o.pgSchema).catch((e: unknown) => `pg error ${String(e)}`);
    if (s !== undefined) {
      lag = s.lag;
      late = s.late;
      caughtUp = s.lag === 0 && assignedAll(o.worker, s, o.partitions);
    }
    const fp = `${s?.events}|${s?.activity}|${s?.buffered}|${pgf}`;
    if (fp !== last || s === undefined || !caughtUp || s.buffered > 0) {
      last = fp;
      since = Date.now();
    } else if (Date.now() - since >= o.quietMs) {
      quiet = true;
      break;
    }
    await sleep(250);
  }
  o.log.line(`settle: quiet=${quiet} after ${Date.now() - t0} ms (caught up ${caughtUp}, lag ${lag}, late ${late})`);
  let offs = await groupOffsets(o.brokers, o.group, o.topic);
  const t1 = Date.now();
  while (sum(offs.high) - sum(offs.committed) > 0 && Date.now() - t1 < o.commitWaitMs) {
    await sleep(500);
    offs = await groupOffsets(o.brokers, o.group, o.topic);
  }
  const behindCommit = sum(offs.high) - sum(offs.committed);
  o.log.line(`settle: committed ${sum(offs.committed)} of ${sum(offs.high)} (per partition behind: ${offs.high.map((h, i) => h - offs.committed[i]!).join(',')})`);
  return { quiet, caughtUp, committedToEnd: behindCommit === 0, behindCommit, lag, late };
}
