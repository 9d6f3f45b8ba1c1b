import { Packr } from 'msgpackr';
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { TickflowError, formatIssues } from '@tickflow/core';
import type { FeedKind, WsBridge } from './wsServerOptions.js';

/** Options of redisBridge. */
export const RedisBridgeOptionsSchema = z
  .object({
    /** Redis URL (`redis://127.0.0.1:6379`); or give `sentinels` and `name`. */
    url: z.string().min(1).optional(),
    /** Sentinel: the sentinels' addresses (the bridge follows the master they name across failovers). */
    sentinels: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) })).min(1).optional(),
    /** Sentinel: the master's name. */
    name: z.string().min(1).optional(),
    /** Sentinel: password of the data nodes. */
    password: z.string().optional(),
    /** Sentinel: database number. Default 0. */
    db: z.number().int().nonnegative().optional(),
    /** Pub/sub channel shared by the nodes. Default `tickflow:ws`. */
    channel: z.string().min(1).default('tickflow:ws'),
    /** This node's id (messages it published come back to it and are skipped). Default: random. */
    nodeId: z.string().min(1).max(64).optional(),
    /**
     * How often (ms) the node asks Redis whether another subscriber listens on
     * the channel (`PUBSUB NUMSUB`). A node alone on the channel publishes
     * nothing; a node that joins announces itself, so the others start at
     * once, and this check is the backstop. Default 2 000.
     */
    peerCheckInterval: z.number().int().min(50).max(600_000).default(2_000),
    /** Called when Redis fails (publishes while disconnected are dropped and counted, not queued). */
    onError: z.custom<(error: TickflowError) => void>((v) => typeof v === 'function').optional(),
  })
  .refine((o) => (o.url !== undefined) !== (o.sentinels !== undefined && o.name !== undefined), { message: 'give either url, or sentinels and name' });

/** Options of redisBridge (see RedisBridgeOptionsSchema). */
export type RedisBridgeOptions = z.input<typeof RedisBridgeOptionsSchema>;

/** A Redis bridge with its counters. */
export interface RedisBridge extends WsBridge {
  /**
   * Messages published, received from other nodes, dropped while Redis was
   * unreachable, and skipped because no other node listened on the channel.
   */
  readonly stats: { published: number; received: number; dropped: number; skipped: number };
}

const KINDS: ReadonlySet<string> = new Set(['trades', 'quotes', 'candles', 'profile']);
/**
 * Control messages (not FeedKinds: older nodes ignore them). A node that
 * subscribed publishes `hello`; every node that hears it starts publishing
 * (if it was alone) and answers `here` addressed to it (`e: [its id]`).
 */
const HELLO = 'hello';
const HERE = 'here';
/** How long `start` waits for the other subscribers' `here` (a subscriber that is not a tickflow node never answers). */
const JOIN_WAIT_MS = 2_000;

interface BridgeMessage {
  o: string;
  k: FeedKind | typeof HELLO | typeof HERE;
  e: readonly unknown[];
}

/**
 * The bytes every message of `nodeId` starts with (`{o: nodeId, …}` packed
 * as a map, `o` first), so the node skips its own messages, which Redis
 * sends back to it, without decoding them.
 */
function ownPrefix(packr: Packr, nodeId: string): Buffer {
  const probe = packr.pack({ o: nodeId, k: HELLO, e: [] } satisfies BridgeMessage);
  const tail = packr.pack({ k: HELLO, e: [] });
  // The map header differs (3 entries vs 2); what follows `o`'s value is the same bytes.
  return Buffer.from(probe.subarray(0, probe.length - (tail.length - 1)));
}

/**
 * Multi-node fan-out through Redis pub/sub: every node publishes the events
 * it was fed, and applies the events the other nodes published, so a client
 * of node B sees updates ingested on node A. Messages are MessagePack. The
 * publisher does not queue while Redis is down (memory stays bounded): those
 * events reach only local clients, and are counted as dropped. A node that
 * is alone on the channel publishes nothing (nobody would receive it): it
 * learns of others from `PUBSUB NUMSUB` (every `peerCheckInterval`) and at
 * once from the hello a joining node publishes after it subscribed, which
 * every node answers once it publishes; `start` resolves when every other
 * subscriber answered (at most 2 s), so from then on the node receives
 * everything the others publish. A node skips its own messages (Redis sends
 * them back) by their first bytes, without decoding them. ioredis is an
 * optional peer dependency, loaded only here.
 *
 * @example
 * ```ts
 * const ws = await startWsServer({ port: 8080, bridge: redisBridge({ url: process.env.REDIS_URL! }) });
 * ```
 */
export function redisBridge(options: RedisBridgeOptions): RedisBridge {
  const parsed = RedisBridgeOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TickflowError('INVALID_ARGUMENT', `invalid redisBridge options: ${formatIssues(parsed.error)}`, { cause: parsed.error });
  const o = parsed.data;
  const nodeId = o.nodeId ?? Math.random().toString(36).slice(2, 12);
  const where = o.url ?? `master "${o.name}" of sentinels ${(o.sentinels ?? []).map((a) => `${a.host}:${a.port}`).join(',')}`;
  const packr = new Packr({ useRecords: false });
  const own = ownPrefix(packr, nodeId);
  const stats = { published: 0, received: 0, dropped: 0, skipped: 0 };
  let pub: Redis | undefined;
  let sub: Redis | undefined;
  /** Whether another subscriber listens on the channel; true until Redis has told (publishing too much is safe, too little is not). */
  let others = true;
  /** Messages from other nodes so far: a NUMSUB answer asked before one of them arrived cannot say "alone". */
  let heard = 0;
  let peerTimer: NodeJS.Timeout | undefined;
  /** While `start` waits: the nodes that answered this node's hello, and what to call when one does. */
  const answered = new Set<string>();
  let onAnswer: (() => void) | undefined;
  /** Subscribers of the channel (this node included), or undefined when Redis cannot tell now. */
  const subscribers = async (): Promise<number | undefined> => {
    const p = pub;
    if (p === undefined || p.status !== 'ready') return undefined;
    try {
      const reply = await p.call('PUBSUB', 'NUMSUB', o.channel);
      const n = Array.isArray(reply) ? Number(reply[1]) : NaN;
      return Number.isFinite(n) ? n : undefined;
    } catch (e) {
      fail('asking for the other nodes (PUBSUB NUMSUB)', e);
      return undefined;
    }
  };
  const checkPeers = (): void => {
    const heardBefore = heard;
    void subscribers().then((n) => {
      if (n === undefined) return;
      if (n > 1) others = true;
      else if (heard === heardBefore) others = false;
    });
  };
  const control = (k: typeof HELLO | typeof HERE, e: readonly unknown[]): void => {
    pub?.publish(o.channel, packr.pack({ o: nodeId, k, e } satisfies BridgeMessage)).catch((err: unknown) => fail(`sending ${k}`, err));
  };
  const fail = (what: string, e: unknown): void => {
    o.onError?.(new TickflowError('BRIDGE_FAILED', `redis bridge ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
  };
  return {
    stats,
    async start(deliver) {
      const { Redis: RedisClient } = await import('ioredis');
      const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1 };
      const client = (extra: RedisOptions): Redis =>
        o.url !== undefined ? new RedisClient(o.url, { ...common, ...extra }) : new RedisClient({ ...common, ...extra, sentinels: o.sentinels, name: o.name, password: o.password, db: o.db ?? 0 });
      pub = client({ enableOfflineQueue: false });
      sub = client({});
      pub.on('error', (e) => fail('publisher', e));
      sub.on('error', (e) => fail('subscriber', e));
      try {
        await Promise.all([pub.connect(), sub.connect()]);
        await sub.subscribe(o.channel);
      } catch (e) {
        pub.disconnect();
        sub.disconnect();
        throw new TickflowError('BRIDGE_FAILED', `cannot connect to Redis at ${where}: ${e instanceof Error ? e.message : String(e)}; check the URL and that Redis is running`, { cause: e });
      }
      sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
        if (message.length >= own.length && message.compare(own, 0, own.length, 0, own.length) === 0) return;
        let m: BridgeMessage;
        try {
          m = packr.unpack(message) as BridgeMessage;
        } catch (e) {
          fail('received a message that is not MessagePack', e);
          return;
        }
        if (m === null || typeof m !== 'object' || m.o === nodeId) return;
        heard++;
        others = true;
        if (m.k === HELLO) return control(HERE, [m.o]);
        if (m.k === HERE) {
          if (Array.isArray(m.e) && m.e[0] === nodeId && typeof m.o === 'string') {
            answered.add(m.o);
            onAnswer?.();
          }
          return;
        }
        if (!KINDS.has(m.k) || !Array.isArray(m.e)) return;
        stats.received++;
        deliver(m.k, m.e);
      });
      // Tell the others this node listens (the ones alone until now start publishing), then wait until each has answered.
      control(HELLO, []);
      const n = await subscribers();
      if (n !== undefined) {
        if (n <= 1 && heard === 0) others = false;
        if (answered.size < n - 1) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, JOIN_WAIT_MS);
            onAnswer = () => {
              if (answered.size >= n - 1) {
                clearTimeout(timer);
                resolve();
              }
            };
          });
          onAnswer = undefined;
        }
      }
      peerTimer = setInterval(checkPeers, o.peerCheckInterval);
      peerTimer.unref();
    },
    publish(kind, events) {
      if (events.length === 0) return;
      if (pub === undefined || pub.status !== 'ready') {
        stats.dropped++;
        return;
      }
      if (!others) {
        stats.skipped++;
        return;
      }
      const msg: BridgeMessage = { o: nodeId, k: kind, e: events };
      pub.publish(o.channel, packr.pack(msg)).then(
        () => {
          stats.published++;
        },
        (e: unknown) => {
          stats.dropped++;
          fail('publish', e);
        },
      );
    },
    async close() {
      clearInterval(peerTimer);
      const p = pub;
      const s = sub;
      pub = undefined;
      sub = undefined;
      await Promise.allSettled([p?.quit(), s?.quit()]);
    },
  };
}
