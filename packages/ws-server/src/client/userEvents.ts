// User events from an app (web page, mobile, desktop, Node) to the server's
// POST /api/events, batched. No zod and no Node or DOM imports: it runs
// wherever the client SDK runs; the server validates every event (see
// UserEventSchema in @tickflow/core) and reports rejections.
import type { UserEvent } from '@tickflow/core';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event as the app emits it: the emitter adds `version`, `sessionId`, `ts` and `id` unless given. */
export type UserEventInput = DistributiveOmit<UserEvent, 'version' | 'sessionId' | 'ts' | 'id'> & { readonly ts?: number; readonly id?: string };

/** What the server answered for one rejected event. */
export interface RejectedEvent {
  readonly index: number;
  readonly reason: string;
}

/** Options of `createUserEventEmitter`. */
export interface UserEventEmitterOptions {
  /** The server's events endpoint, e.g. `https://host/api/events`. */
  readonly url: string;
  /** The bearer token (or a function giving the current one); events wait while it gives none. */
  readonly token: string | (() => string | undefined | Promise<string | undefined>);
  /** Sent as every event's `client`. Default `web`. */
  readonly client?: 'web' | 'mobile' | 'desktop' | 'node';
  /** Sent as every event's `appVersion`, when set. */
  readonly appVersion?: string;
  /** The session id of the events. Default: a random one per emitter. */
  readonly sessionId?: string;
  /** How often queued events are sent (ms). Default 5 000. */
  readonly flushInterval?: number;
  /** Most events per request (the server takes at most 100). Default 50. */
  readonly maxBatch?: number;
  /** Most events queued while the server cannot be reached; the oldest are dropped beyond (and counted). Default 1 000. */
  readonly maxQueue?: number;
  /** `fetch` to use. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Called with events the server rejected (with the reason), and with send failures. */
  readonly onError?: (error: { message: string; rejected?: readonly RejectedEvent[] }) => void;
}

/** Counters of an emitter. */
export interface UserEventEmitterStats {
  readonly queued: number;
  readonly sent: number;
  readonly rejected: number;
  /** Events dropped because the queue was full or the server refused the whole request (4xx). */
  readonly dropped: number;
  readonly failedRequests: number;
}

/** A batched user-event emitter (see `createUserEventEmitter`). */
export interface UserEventEmitter {
  /** The session id the events carry. */
  readonly sessionId: string;
  /** Queues an event (sent on the next flush). */
  emit(event: UserEventInput): void;
  /**
   * Sends what is queued now. `keepalive` lets the request outlive the page
   * (use it on `pagehide`) and sends at once, without waiting for a request
   * still running (its answer may never come once the page is gone).
   * Failed requests (network, 5xx, 429) keep their events queued for the
   * next flush; the ids make a re-send harmless.
   */
  flush(options?: { readonly keepalive?: boolean }): Promise<void>;
  readonly stats: UserEventEmitterStats;
  /** Stops the timer after a last flush. */
  close(): Promise<void>;
}

type Queued = Record<string, unknown> & { readonly id: string };

/** A random id (8–64 of letters, digits, `-`), from `crypto.randomUUID` when the platform has it. */
function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID();
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return s;
}

/** keepalive requests may carry at most 64 KiB in all; stay well below. */
const KEEPALIVE_BYTES = 48 * 1024;
/** The reference server takes bodies up to 64 KiB; batches are split to stay below (a 413 splits further). */
const MAX_BODY_BYTES = 60 * 1024;

/**
 * Creates a batched emitter of user events for POST /api/events: events are
 * queued with their client time and a unique id, and sent every
 * `flushInterval` (and on `flush()`) in batches of at most `maxBatch`.
 * Rejected events are reported to `onError` with the server's reason.
 *
 * @example
 * ```ts
 * const events = createUserEventEmitter({ url: '/api/events', token: () => session.accessToken });
 * events.emit({ type: 'symbol_selected', symbol: 'AAPL', source: 'watchlist' });
 * window.addEventListener('pagehide', () => void events.flush({ keepalive: true }));
 * ```
 */
export function createUserEventEmitter(options: UserEventEmitterOptions): UserEventEmitter {
  const { url, token, client = 'web', appVersion, flushInterval = 5_000, onError } = options;
  const maxBatch = Math.max(1, Math.min(options.maxBatch ?? 50, 100));
  const maxQueue = Math.max(maxBatch, options.maxQueue ?? 1_000);
  const sessionId = options.sessionId ?? `s-${randomId()}`;
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  let queue: Queued[] = [];
  /** Events at the head of `queue` that the running request carries (removed when it is answered). */
  let inFlight = 0;
  const counts = { sent: 0, rejected: 0, dropped: 0, failedRequests: 0 };
  let closed = false;

  /** A failed request: counted and reported; its events stay (or go back) in the queue for the next flush. */
  const failed = (message: string): void => {
    counts.failedRequests++;
    onError?.({ message: `user events: ${message}` });
  };
  const networkFailure = (n: number, e: unknown): string => `sending ${n} events failed (${e instanceof Error ? e.message : String(e)}); kept for the next flush`;
  /** Answers after which the same events are sent again (401: the token may be refreshed meanwhile). */
  const retryable = (status: number): boolean => status >= 500 || status === 429 || status === 401;
  /** The first events of `events` (at most `limit`) whose JSON body fits `maxBytes` (one event always goes). */
  const firstBatch = (events: readonly Queued[], limit: number, maxBytes: number): { batch: Queued[]; body: string } => {
    let batch = events.slice(0, limit);
    let body = JSON.stringify({ events: batch });
    while (body.length > maxBytes && batch.length > 1) {
      batch = batch.slice(0, Math.ceil(batch.length / 2));
      body = JSON.stringify({ events: batch });
    }
    return { batch, body };
  };
  const post = (t: string, body: string, keepalive: boolean): Promise<Response> =>
    doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body, keepalive });
  /** Counts a final answer for `batch` (accepted, with per-event rejections, or refused as a whole). */
  const settle = async (batch: readonly Queued[], res: Response): Promise<void> => {
    if (res.status !== 202 && res.status !== 200) {
      counts.dropped += batch.length;
      const text = await res.text().catch(() => '');
      onError?.({ message: `user events: the server refused ${batch.length} events (${res.status}): ${text.slice(0, 300)}` });
      return;
    }
    const answer = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: RejectedEvent[] };
    const rejected = Array.isArray(answer.rejected) ? answer.rejected : [];
    counts.sent += batch.length - rejected.length;
    counts.rejected += rejected.length;
    if (rejected.length > 0) onError?.({ message: `user events: ${rejected.length} of ${batch.length} events rejected: ${rejected[0]!.reason}`, rejected });
  };

  const send = async (): Promise<void> => {
    let limit = maxBatch;
    while (queue.length > 0) {
      const t = typeof token === 'function' ? await token() : token;
      if (t === undefined || t === '') return;
      const { batch, body } = firstBatch(queue, limit, MAX_BODY_BYTES);
      let res: Response;
      inFlight = batch.length;
      try {
        res = await post(t, body, false);
      } catch (e) {
        inFlight = 0;
        failed(networkFailure(batch.length, e));
        return;
      }
      inFlight = 0;
      if (retryable(res.status)) {
        failed(`the server answered ${res.status}; ${batch.length} events kept for the next flush`);
        return;
      }
      if (res.status === 413 && batch.length > 1) {
        // Larger than the server's body limit (multi-byte text counts more than its length): smaller requests.
        limit = Math.ceil(batch.length / 2);
        continue;
      }
      queue = queue.slice(batch.length);
      await settle(batch, res);
    }
  };

  /**
   * A keepalive flush (the page is hidden or left): what the running request
   * does not carry goes now, without waiting for that request's answer —
   * chained behind it, a `session_end` emitted on `pagehide` was lost
   * whenever a timer flush was still in flight, because the page's script
   * ends before the answer comes. Failed requests put their events back.
   */
  const sendNow = async (): Promise<void> => {
    const t = typeof token === 'function' ? await token() : token;
    if (t === undefined || t === '') return;
    let rest = queue.slice(inFlight);
    queue = queue.slice(0, inFlight);
    while (rest.length > 0) {
      const { batch, body } = firstBatch(rest, maxBatch, KEEPALIVE_BYTES);
      rest = rest.slice(batch.length);
      const putBack = (message: string): void => {
        queue = [...queue, ...batch];
        failed(message);
      };
      void post(t, body, true).then(
        (res) => (retryable(res.status) ? putBack(`the server answered ${res.status}; ${batch.length} events kept for the next flush`) : settle(batch, res)),
        (e: unknown) => putBack(networkFailure(batch.length, e)),
      );
    }
  };

  /** An unexpected failure of a flush (a token function that threw): reported; a flush never rejects. */
  const failedFlush = (e: unknown): void => failed(e instanceof Error ? e.message : String(e));

  // One request chain at a time: a flush during a send waits for it, then sends what is left. Never rejects.
  let chain: Promise<void> = Promise.resolve();
  const flush = (o: { readonly keepalive?: boolean } = {}): Promise<void> => {
    if (o.keepalive === true) return sendNow().catch(failedFlush);
    chain = chain.then(() => send().catch(failedFlush));
    return chain;
  };

  const timer = setInterval(() => {
    if (queue.length > 0) void flush();
  }, flushInterval);
  (timer as { unref?: () => void }).unref?.();

  return {
    sessionId,
    emit(event) {
      if (closed) return;
      const e: Queued = { ...event, version: 1, sessionId, ts: event.ts ?? Date.now(), id: event.id ?? randomId(), client, ...(appVersion === undefined ? {} : { appVersion }) };
      queue.push(e);
      if (queue.length > maxQueue) {
        counts.dropped += queue.length - maxQueue;
        queue = queue.slice(queue.length - maxQueue);
      }
      if (queue.length >= maxBatch) void flush();
    },
    flush,
    get stats() {
      return { queued: queue.length, ...counts };
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}
