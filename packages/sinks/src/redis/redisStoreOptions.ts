import { DurationSchema, TickflowError, describeError, formatIssues, ms } from '@tickflow/core';
import { z } from 'zod';


const AddressSchema = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) });

/** zod schema of RedisStoreOptions (connection, key layout, TTLs, publishing). */
export const RedisStoreOptionsSchema = z
  .object({
    /** Single node: `redis://[user:password@]host:port[/db]`. */
    url: z.string().regex(/^rediss?:\/\//, 'url must start with redis:// or rediss://').optional(),
    /** Sentinel: the sentinels' addresses (give `name` too). */
    sentinels: z.array(AddressSchema).min(1).readonly().optional(),
    /** Sentinel: the master's name as the sentinels know it. */
    name: z.string().min(1).optional(),
    /** Password of the data nodes (sentinel mode; in url mode put it in the url). */
    password: z.string().optional(),
    /** Password of the sentinels, when they require one. */
    sentinelPassword: z.string().optional(),
    /** Database number (sentinel mode; in url mode put it in the url). Default 0. */
    db: z.number().int().nonnegative().default(0),
    /** Prefix of every key (`'app:'` → `app:price:AAPL`). Default none: the keys listed on RedisStore (redisStore.ts). */
    keyPrefix: z.string().default(''),
    /** Pub/sub channel of updates for the WebSocket fan-out. Default `tickflow:updates`. */
    channel: z.string().min(1).default('tickflow:updates'),
    /** Publish an update message per written batch. Default true. */
    publish: z.boolean().default(true),
    /** Expiry of `price:{symbol}`. Default 5 s. 0 keeps it. */
    priceTtl: DurationSchema.default('5s'),
    /** Expiry of the latest-window keys (`ohlc:…`, `ticks:…`, `profile:…`). Default 60 s. 0 keeps them. */
    aggregateTtl: DurationSchema.default('60s'),
    /** Trades kept per symbol in `price_history:{symbol}` (newest by event time). Default 1 000. */
    historyLength: z.number().int().positive().default(1_000),
    /**
     * Replicas that must acknowledge a batch (Redis `WAIT`) before it counts
     * as written, capped at the replicas connected at the time. Default 1 in
     * sentinel mode (a failover then loses no acknowledged write), 0 with a url.
     */
    replicaAcks: z.number().int().nonnegative().optional(),
    /** How long a batch waits for replica acknowledgements before the write fails (and is retried). Default 2 s. */
    replicaAckTimeout: DurationSchema.default('2s'),
    /** A command that takes longer fails (the sink retries it). Default 5 s. */
    commandTimeout: DurationSchema.default('5s'),
    /** Connection attempt timeout. Default 5 s. */
    connectTimeout: DurationSchema.default('5s'),
    /** Longest pause between reconnection attempts (they go on for ever; writes fail fast meanwhile). Default 1 s. */
    maxReconnectDelay: DurationSchema.default('1s'),
    /** Where the store logs what it connected to and chose. Default console.info. */
    log: z.custom<(message: string) => void>((v) => typeof v === 'function', 'log must be a function').optional(),
  })
  .strict();

/** Options of RedisStore (see RedisStoreOptionsSchema): `url` for one node, or `sentinels` + `name`. */
export type RedisStoreOptions = z.input<typeof RedisStoreOptionsSchema>;

/** @internal Parsed options with durations in ms. */
export interface ResolvedRedisOptions {
  readonly mode: 'single' | 'sentinel';
  readonly url: string | undefined;
  readonly sentinels: readonly { host: string; port: number }[];
  readonly name: string;
  readonly password: string | undefined;
  readonly sentinelPassword: string | undefined;
  readonly db: number;
  readonly keyPrefix: string;
  readonly channel: string;
  readonly publish: boolean;
  readonly priceTtlMs: number;
  readonly aggregateTtlMs: number;
  readonly historyLength: number;
  readonly replicaAcks: number;
  readonly replicaAckTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  readonly log: (message: string) => void;
}

/** A duration option in ms; a bad one is INVALID_ARGUMENT naming the option, like every other bad option. */
function durationMs(value: string | number, what: string): number {
  try {
    return ms(value, what);
  } catch (e) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Redis store option ${what}: ${describeError(e)}`, { cause: e });
  }
}

/** @internal Validates options and resolves defaults; throws INVALID_ARGUMENT saying what to write instead. */
export function resolveRedisOptions(options: unknown): ResolvedRedisOptions {
  const parsed = RedisStoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TickflowError('INVALID_ARGUMENT', `invalid Redis store options: ${formatIssues(parsed.error, { root: '(options)' })}`);
  }
  const o = parsed.data;
  if ((o.url === undefined) === (o.sentinels === undefined)) {
    throw new TickflowError('INVALID_ARGUMENT', 'Redis store options need exactly one of `url` (a single node, e.g. "redis://127.0.0.1:6379") or `sentinels` (e.g. [{ host: "127.0.0.1", port: 26379 }]) with `name`');
  }
  if (o.sentinels !== undefined && o.name === undefined) {
    throw new TickflowError('INVALID_ARGUMENT', 'Redis sentinel mode needs `name`: the master name the sentinels monitor (as in `sentinel monitor <name> …`)');
  }
  const mode = o.sentinels === undefined ? 'single' : 'sentinel';
  return {
    mode,
    url: o.url,
    sentinels: o.sentinels ?? [],
    name: o.name ?? '',
    password: o.password,
    sentinelPassword: o.sentinelPassword,
    db: o.db,
    keyPrefix: o.keyPrefix,
    channel: o.channel,
    publish: o.publish,
    priceTtlMs: durationMs(o.priceTtl, 'priceTtl'),
    aggregateTtlMs: durationMs(o.aggregateTtl, 'aggregateTtl'),
    historyLength: o.historyLength,
    replicaAcks: o.replicaAcks ?? (mode === 'sentinel' ? 1 : 0),
    replicaAckTimeoutMs: durationMs(o.replicaAckTimeout, 'replicaAckTimeout'),
    commandTimeoutMs: durationMs(o.commandTimeout, 'commandTimeout'),
    connectTimeoutMs: durationMs(o.connectTimeout, 'connectTimeout'),
    maxReconnectDelayMs: durationMs(o.maxReconnectDelay, 'maxReconnectDelay'),
    log: o.log ?? ((m: string) => console.info(m)),
  };
}
