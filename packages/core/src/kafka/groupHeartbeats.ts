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
 * stops heartbeating is evicted (a needless rebalance). When a heartbeat
 * reports a rebalance, the wait is abandoned (resolves false) and the error
 * goes to `onRebalance`: the member must rejoin now, not after the store
 * recovers, or it holds the whole group up. Resolves true once `p` settled
 * (rejecting as `p` does).
 */
export async function withHeartbeats(p: Promise<unknown>, heartbeat: (() => Promise<void>) | undefined, everyMs: number, onRebalance: (e: unknown) => void): Promise<boolean> {
  if (heartbeat === undefined) {
    await p;
    return true;
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
      let rebalance: unknown;
      await heartbeat().catch((e: unknown) => {
        if (isRebalanceError(e)) rebalance = e;
      });
      if (rebalance !== undefined) {
        onRebalance(rebalance);
        // The wait goes on in the background; what it was waiting for is not used any more.
        settled.catch(() => undefined);
        return false;
      }
    }
  }
  await settled;
  return true;
}
