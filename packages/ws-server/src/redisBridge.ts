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
    /** Called when Redis fails (publishes while disconnected are dropped and counted, not queued). */
    onError: z.custom<(error: TickflowError) => void>((v) => typeof v === 'function').optional(),
  })
  .refine((o) => (o.url !== undefined) !== (o.sentinels !== undefined && o.name !== undefined), { message: 'give either url, or sentinels and name' });

/** Options of redisBridge (see RedisBridgeOptionsSchema). */
export type RedisBridgeOptions = z.input<typeof RedisBridgeOptionsSchema>;

/** A Redis bridge with its counters. */
export interface RedisBridge extends WsBridge {
  /** Messages published, received from other nodes, and dropped while Redis was unreachable. */
  readonly stats: { published: number; received: number; dropped: number };
}

const KINDS: ReadonlySet<string> = new Set(['trades', 'quotes', 'candles', 'profile']);

interface BridgeMessage {
  o: string;
  k: FeedKind;
  e: readonly unknown[];
}

/**
 * Multi-node fan-out through Redis pub/sub: every node publishes the events
 * it was fed, and applies the events the other nodes published, so a client
 * of node B sees updates ingested on node A. Messages are MessagePack. The
 * publisher does not queue while Redis is down (memory stays bounded): those
 * events reach only local clients, and are counted as dropped. ioredis is an
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
  const stats = { published: 0, received: 0, dropped: 0 };
  let pub: Redis | undefined;
  let sub: Redis | undefined;
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
        let m: BridgeMessage;
        try {
          m = packr.unpack(message) as BridgeMessage;
        } catch (e) {
          fail('received a message that is not MessagePack', e);
          return;
        }
        if (m === null || typeof m !== 'object' || m.o === nodeId || !KINDS.has(m.k) || !Array.isArray(m.e)) return;
        stats.received++;
        deliver(m.k, m.e);
      });
    },
    publish(kind, events) {
      if (pub === undefined || pub.status !== 'ready' || events.length === 0) {
        if (events.length > 0) stats.dropped++;
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
      const p = pub;
      const s = sub;
      pub = undefined;
      sub = undefined;
      await Promise.allSettled([p?.quit(), s?.quit()]);
    },
  };
}
