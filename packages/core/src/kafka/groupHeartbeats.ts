/**
 * kafkajs's errors that mean "the group is rebalancing, rejoin" (its own
 * `isRebalancing`, plus UNKNOWN_MEMBER_ID which its runner also answers by
 * rejoining). They must reach kafkajs from `eachBatch`: it rejoins only when
 * the handler throws them (or its own heartbeat between batches sees one).
 */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/** True for a kafkajs error that asks the member to rejoin the group. */
export function isRebalanceError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && REBALANCE_ERRORS.has(String((e as { type?: unknown }).type));
}

/**
 * Awaits `p`, calling `heartbeat` every `everyMs` meanwhile: a wait for a
 * store that is down can outlast the session timeout, and a member that
 * stops heartbeating is evicted (a needless rebalance). A heartbeat that
 * reports a rebalance goes to `onRebalance` (the batch handler rethrows it).
 */
export async function withHeartbeats(p: Promise<unknown>, heartbeat: (() => Promise<void>) | undefined, everyMs: number, onRebalance: (e: unknown) => void): Promise<void> {
  if (heartbeat === undefined) {
    await p;
    return;
  }
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  while (!done) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, everyMs)))]);
    clearTimeout(timer);
    if (!done) {
      await heartbeat().catch((e: unknown) => {
        if (isRebalanceError(e)) onRebalance(e);
      });
    }
  }
  await settled;
}
