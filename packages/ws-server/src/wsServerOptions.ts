import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { z } from 'zod';
import { DurationSchema } from '@tickflow/core';
import type { Candle, Quote, TickflowError, Trade, VolumeProfile } from '@tickflow/core';
import type { ParsedChannel, WireFormat } from './protocol.js';

/** Who a connection belongs to, as the authenticate hook established it. */
export interface Principal {
  /** Subject (user id); `anonymous` without an authenticate hook. */
  readonly subject: string;
  /** Claims (the verified JWT payload with jwtAuth). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** When the credentials expire (epoch ms): the connection is closed with TOKEN_EXPIRED then. */
  readonly expiresAt?: number | undefined;
}

/** Runs on every upgrade request; a falsy result rejects it with HTTP 401 before any socket exists. */
export type AuthenticateHook = (request: IncomingMessage) => Principal | null | undefined | false | Promise<Principal | null | undefined | false>;

/** Runs on every subscribe; false answers the client with a FORBIDDEN error for that channel. */
export type AuthorizeHook = (principal: Principal, channel: ParsedChannel) => boolean | Promise<boolean>;

/**
 * Runs when a subscribe reaches authorization (a known channel, within the
 * limits); the returned function, if any, gets the decision (for tracing:
 * one span per subscribe). Must not throw.
 */
export type SubscribeHook = (info: { readonly connection: string; readonly subject: string; readonly channel: string }) => ((granted: boolean) => void) | undefined;

/** The event streams the pipeline feeds the server with. */
export interface FeedEvents {
  trades: Trade;
  quotes: Quote;
  candles: Candle;
  profile: VolumeProfile;
}

/** One of the feeds: `trades` (also feeds `ticker`), `quotes`, `candles`, `profile`. */
export type FeedKind = keyof FeedEvents;

/**
 * Carries published events between server processes (see redisBridge): each
 * node applies its own events locally and through the bridge every other
 * node applies them too.
 */
export interface WsBridge {
  /** Starts receiving; `deliver` applies events published by other nodes. */
  start(deliver: (kind: FeedKind, events: readonly unknown[]) => void): Promise<void>;
  /** Sends events this node published. Must not throw. */
  publish(kind: FeedKind, events: readonly unknown[]): void;
  /** Stops and releases connections. */
  close(): Promise<void>;
}

/** Per-flush metrics. */
export interface FlushInfo {
  /** Wall time of the flush: deltas built, encoded, frames written to sockets (with the I/O served between its ~8 ms slices). */
  readonly durationMs: number;
  /** Channels that produced a delta. */
  readonly deltas: number;
  /** Frames sent. */
  readonly frames: number;
  /** Bytes sent. */
  readonly bytes: number;
}

/** Events of a WsServer (metrics hooks). */
export interface WsServerEvents {
  connection: (info: { id: string; principal: Principal; format: WireFormat }) => void;
  disconnect: (info: { id: string; code: number; reason: string }) => void;
  subscribe: (info: { id: string; channel: string }) => void;
  unsubscribe: (info: { id: string; channel: string }) => void;
  flush: (info: FlushInfo) => void;
  conflation: (info: { id: string; channel: string }) => void;
  slowConsumer: (info: { id: string; bufferedAmount: number }) => void;
  error: (error: TickflowError) => void;
}

/** Counters since start. */
export interface WsServerStats {
  connections: number;
  subscriptions: number;
  channels: number;
  framesOut: number;
  bytesOut: number;
  deltas: number;
  conflations: number;
  slowConsumerCloses: number;
  rateLimited: number;
  rejectedUpgrades: number;
  heartbeatTimeouts: number;
  malformed: number;
  /** Control messages (errors, pongs, …) dropped because the connection already had MAX_CONTROL waiting for its socket. */
  droppedControl: number;
  /** Error replies folded into a summary (more than ERRORS_PER_MESSAGE for one client message). */
  suppressedErrors: number;
  /** Upgrades refused by the per-address or per-subject connection caps or the per-address upgrade rate (HTTP 429). */
  limitedUpgrades: number;
  lastFlushMs: number;
  maxFlushMs: number;
  /** Largest socket buffer (bytes) seen at a flush. */
  maxBufferedAmount: number;
  /** Rows currently held for slow connections. */
  conflatedRows: number;
}

/** Counters at start: all zero. */
export function emptyStats(): WsServerStats {
  return {
    connections: 0,
    subscriptions: 0,
    channels: 0,
    framesOut: 0,
    bytesOut: 0,
    deltas: 0,
    conflations: 0,
    slowConsumerCloses: 0,
    rateLimited: 0,
    rejectedUpgrades: 0,
    heartbeatTimeouts: 0,
    malformed: 0,
    droppedControl: 0,
    suppressedErrors: 0,
    limitedUpgrades: 0,
    lastFlushMs: 0,
    maxFlushMs: 0,
    maxBufferedAmount: 0,
    conflatedRows: 0,
  };
}

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);

/**
 * Options of startWsServer (defaults beside each field).
 *
 * @example
 * ```ts
 * const parsed = WsServerOptionsSchema.parse({ port: 8080, flushInterval: '50ms' });
 * ```
 */
export const WsServerOptionsSchema = z.object({
  /** An http.Server to attach to (plain Node, `fastify.server`, …). Without it the server listens by itself on `host:port`. */
  server: z
    .custom<HttpServer>((v) => typeof v === 'object' && v !== null && typeof (v as HttpServer).on === 'function' && typeof (v as HttpServer).listen === 'function', 'server must be a Node http.Server')
    .optional(),
  /** Port when listening by itself. Default 0 (a free port). */
  port: z.number().int().min(0).max(65_535).default(0),
  /** Host when listening by itself. Default 127.0.0.1. */
  host: z.string().default('127.0.0.1'),
  /** URL path of the WebSocket endpoint. Default `/ws`. */
  path: z.string().startsWith('/').default('/ws'),
  /** Coalescing interval: each connection gets at most one frame of updates per interval. Default 25 ms. */
  flushInterval: DurationSchema.default(25),
  /** Ping interval; a connection that did not answer the previous ping is terminated. Default 30 s. */
  heartbeatInterval: DurationSchema.default(30_000),
  /** Open connections beyond which upgrades get HTTP 503. Default 10 000. */
  maxConnections: z.number().int().positive().default(10_000),
  /**
   * Open connections per subject (the authenticate hook's principal), counted
   * from the upgrade on; more get HTTP 429. Applies only with an authenticate
   * hook (without one everyone is `anonymous`). Default 16.
   */
  maxConnectionsPerSubject: z.number().int().positive().default(16),
  /** Open (and opening) connections per client address; more get HTTP 429. Default: no cap. */
  maxConnectionsPerAddress: z.number().int().positive().optional(),
  /** Upgrade requests per client address (a token bucket), checked before authentication; more get HTTP 429 with Retry-After. Default: no limit. */
  upgradeRate: z
    .object({
      /** Burst of upgrades. */
      capacity: z.number().positive(),
      /** Sustained upgrades per second. */
      refillPerSecond: z.number().positive(),
    })
    .optional(),
  /** The client address of an upgrade request (e.g. honouring X-Forwarded-For from a trusted proxy). Default: the socket's remote address. */
  clientAddress: fn<(request: IncomingMessage) => string>('clientAddress').optional(),
  /** Largest client frame in bytes; larger ones close the connection with 1009. Default 16 KiB. */
  maxMessageSize: z.number().int().positive().default(16 * 1024),
  /** Channels one connection may subscribe to. Default 200. */
  maxSubscriptions: z.number().int().positive().default(200),
  rateLimit: z
    .object({
      /** Burst of client messages. Default 50. */
      capacity: z.number().positive().default(50),
      /** Sustained client messages per second. Default 20. */
      refillPerSecond: z.number().positive().default(20),
      /** Consecutive over-limit messages after which the connection is closed with 1008. Default 200. */
      closeAfter: z.number().int().positive().default(200),
    })
    .prefault({}),
  slowConsumer: z
    .object({
      /** Socket buffer (bytes) above which a connection is conflated. Default 1 MiB. */
      highWaterMark: z.number().int().nonnegative().default(1024 * 1024),
      /** How long a connection may stay above the mark before it is closed with SLOW_CONSUMER (4000). Default 10 s. */
      deadline: DurationSchema.default(10_000),
      /** After the close frame is queued, how long before the socket is terminated. Default 2 s. */
      closeGrace: DurationSchema.default(2_000),
    })
    .prefault({}),
  history: z
    .object({
      /** Recent trades kept per `trades:SYM` channel (snapshot size). Default 50. */
      trades: z.number().int().nonnegative().default(50),
      /** Bars kept per `candles:SYM:TF` channel. Default 500. */
      candles: z.number().int().positive().default(500),
      /** Profiles kept per `profile:SYM:TF` channel. Default 10. */
      profile: z.number().int().positive().default(10),
      /** Symbols kept in `ticker`. Default 100 000. */
      tickerSymbols: z.number().int().positive().default(100_000),
      /** Rows kept per private `user:TOPIC` channel of each user (the newest). Default 200. */
      user: z.number().int().positive().default(200),
    })
    .prefault({}),
  /**
   * Recovery of list channels (`trades:SYM`) after a reconnect: each keeps
   * its newest `size` items for `maxAge`, and a client that resubscribes with
   * its epoch and offset gets exactly the items it missed, or a snapshot
   * flagged `recovered: false` when the gap is older or longer than that.
   */
  recovery: z
    .object({
      /** Items kept per list channel for recovery (0: none, reconnects get snapshots). Default 1 000. */
      size: z.number().int().nonnegative().default(1_000),
      /** Items older than this are not recovered. Default 2 min. */
      maxAge: DurationSchema.default(120_000),
    })
    .prefault({}),
  /** Verifies upgrade requests (see jwtAuth). Default: everyone is `anonymous`. */
  authenticate: fn<AuthenticateHook>('authenticate').optional(),
  /** Decides per channel on subscribe. Default: every channel is allowed. */
  authorize: fn<AuthorizeHook>('authorize').optional(),
  /** Observes each subscribe and its decision (see SubscribeHook). */
  onSubscribe: fn<SubscribeHook>('onSubscribe').optional(),
  /** Multi-node fan-out (see redisBridge). */
  bridge: z.custom<WsBridge>((v) => typeof v === 'object' && v !== null && typeof (v as WsBridge).publish === 'function', 'bridge must be a WsBridge').optional(),
  /** Node id used in connection ids. Default: random. */
  nodeId: z.string().min(1).max(64).optional(),
  /**
   * permessage-deflate (RFC 7692), used with clients that offer it; others
   * get uncompressed frames as before. `true` takes the defaults below. Off
   * by default: on loopback and fast links it costs more CPU than it saves
   * (benchmarks/README.md, "fanout"). Negotiated with no server context
   * takeover, so each frame is compressed once and the bytes shared by every
   * connection that gets it (no zlib state per connection).
   */
  perMessageDeflate: z
    .union([
      z.boolean(),
      z.object({
        /** Frames smaller than this (bytes) are sent uncompressed. Default 256. */
        threshold: z.number().int().nonnegative().default(256),
        /** zlib level, 1 (fastest) to 9. Default 1. */
        level: z.number().int().min(0).max(9).default(1),
        /** Largest window of the server's compressor, 9–15 bits (a client may ask for less). Default 15. */
        windowBits: z.number().int().min(9).max(15).default(15),
        /** zlib memLevel, 1–9. Default 8. */
        memLevel: z.number().int().min(1).max(9).default(8),
      }),
    ])
    .default(false),
});

/** Options of startWsServer (see WsServerOptionsSchema). */
export type WsServerOptions = z.input<typeof WsServerOptionsSchema>;
/** Options after validation and defaults. */
export type ResolvedWsServerOptions = z.output<typeof WsServerOptionsSchema>;

/** Options of WsServer.close. */
export interface CloseOptions {
  /** Close code sent to clients. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default "server shutting down". */
  readonly reason?: string;
  /** How long to wait for close handshakes before terminating. Default 5 s. */
  readonly timeout?: number;
}

