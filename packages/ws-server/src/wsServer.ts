import { STATUS_CODES, createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { TickflowError, formatIssues, parseDuration } from '@tickflow/core';
import type { Candle, Duration, Output, Quote, Trade, VolumeProfile } from '@tickflow/core';
import { CloseCode, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, PROTOCOL_VERSION, parseChannel } from './protocol.js';
import type { ParsedChannel, ProtocolErrorCode, TickerRow, WireFormat } from './protocol.js';
import { ChannelState } from './internal/channelState.js';
import type { Row } from './internal/channelState.js';
import { ClientMessageSchema } from './internal/clientMessageSchema.js';
import { Connection, deflateWindow } from './internal/connection.js';
import type { ConnectionHost } from './internal/connection.js';
import { KeyedLimiter } from './internal/keyedLimiter.js';
import { TokenBucket } from './internal/tokenBucket.js';
import { Outgoing, SharedFrames, decodeClientFrame } from './internal/wireCodec.js';
import type { DeflateSettings } from './internal/wireCodec.js';

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

const DurationSchema = z.union([z.number().nonnegative(), z.string()]);
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
    })
    .prefault({}),
  /** Verifies upgrade requests (see jwtAuth). Default: everyone is `anonymous`. */
  authenticate: fn<AuthenticateHook>('authenticate').optional(),
  /** Decides per channel on subscribe. Default: every channel is allowed. */
  authorize: fn<AuthorizeHook>('authorize').optional(),
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
type ResolvedOptions = z.output<typeof WsServerOptionsSchema>;

/** Options of WsServer.close. */
export interface CloseOptions {
  /** Close code sent to clients. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default "server shutting down". */
  readonly reason?: string;
  /** How long to wait for close handshakes before terminating. Default 5 s. */
  readonly timeout?: number;
}

function ms(value: Duration | string | number, what: string): number {
  return typeof value === 'number' ? value : parseDuration(value, what);
}

const DAY = 86_400_000;

/** How long a flush writes sockets before it lets pending I/O (upgrades, client messages) run. */
const FLUSH_SLICE_MS = 8;

interface TickerState {
  readonly symbol: string;
  /** Listed in tickerDirty: its row goes to the ticker channel at the next flush. */
  dirty: boolean;
  day: number;
  open: number;
  last: number;
  ts: number;
  volume: number;
}

function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Error replies sent for one client message before the rest are folded into one summary error. */
const ERRORS_PER_MESSAGE = 16;

const ANONYMOUS: Principal = { subject: 'anonymous', claims: {} };

/**
 * The delta-broadcast WebSocket server. Create it with startWsServer; feed it
 * with `output(kind)` (a pipeline Output) or `publish(kind, events)`.
 *
 * @example
 * ```ts
 * const ws = await startWsServer({ port: 8080 });
 * ws.on('flush', ({ durationMs, frames, bytes }) => metrics.observe('ws_flush_ms', durationMs));
 * ws.publish('quotes', [{ symbol: 'AAPL', ts: Date.now(), bid: 150.24, ask: 150.26 }]);
 * console.log(ws.stats().connections);
 * ```
 */
export class WsServer extends EventEmitter<WsServerEvents> implements ConnectionHost {
  readonly highWaterMark: number;
  /** @internal */
  readonly deflate: DeflateSettings | undefined;
  readonly slowDeadline: number;
  private readonly opts: ResolvedOptions;
  private readonly flushMs: number;
  private readonly heartbeatMs: number;
  private readonly closeGraceMs: number;
  private readonly http: HttpServer;
  private readonly ownsHttp: boolean;
  private readonly wss: WebSocketServer;
  private readonly nodeId: string;
  private readonly connections = new Set<Connection>();
  private readonly channels = new Map<string, ChannelState<Connection>>();
  private readonly tradeChannels = new Map<string, ChannelState<Connection>>();
  private readonly quoteChannels = new Map<string, ChannelState<Connection>>();
  private readonly windowChannels = new Map<string, ChannelState<Connection>>();
  private readonly tickerStates = new Map<string, TickerState>();
  /** Symbols whose ticker row changed since the last flush (one upsert per symbol per flush, not per trade). */
  private tickerDirty: TickerState[] = [];
  private readonly ticker: ChannelState<Connection>;
  private readonly dirty = new Set<ChannelState<Connection>>();
  private readonly snapshotConns = new Set<Connection>();
  private readonly behindConns = new Set<Connection>();
  /** Connections to write in the current flush; `sendIndex` is the next one (a flush yields to I/O between slices). */
  private readonly touched: Connection[] = [];
  private sendIndex = 0;
  private flushStarted = 0;
  private flushDeltas = 0;
  private readonly frames = new SharedFrames();
  private readonly continueSending = (): void => {
    if (this.touched.length > 0) this.send(performance.now() + FLUSH_SLICE_MS);
  };
  private flushTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private connectionCounter = 0;
  private readonly counters: WsServerStats = {
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
  private flushFrames = 0;
  private flushBytes = 0;
  private readonly negotiated = new WeakMap<IncomingMessage, string>();
  private readonly byAddress = new Map<string, number>();
  private readonly bySubject = new Map<string, number>();
  private readonly upgradeLimiter: KeyedLimiter | undefined;

  /** @internal use startWsServer. */
  constructor(opts: ResolvedOptions) {
    super();
    this.opts = opts;
    this.flushMs = ms(opts.flushInterval, 'flushInterval');
    this.heartbeatMs = ms(opts.heartbeatInterval, 'heartbeatInterval');
    this.slowDeadline = ms(opts.slowConsumer.deadline, 'slowConsumer.deadline');
    this.closeGraceMs = ms(opts.slowConsumer.closeGrace, 'slowConsumer.closeGrace');
    this.highWaterMark = opts.slowConsumer.highWaterMark;
    this.nodeId = opts.nodeId ?? Math.random().toString(36).slice(2, 10);
    this.upgradeLimiter = opts.upgradeRate === undefined ? undefined : new KeyedLimiter(opts.upgradeRate.capacity, opts.upgradeRate.refillPerSecond);
    this.ownsHttp = opts.server === undefined;
    this.http = opts.server ?? createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket endpoint: connect with a WebSocket client');
    });
    const deflate = opts.perMessageDeflate === true ? { threshold: 256, level: 1, windowBits: 15, memLevel: 8 } : opts.perMessageDeflate;
    this.deflate = deflate === false ? undefined : deflate;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxMessageSize,
      perMessageDeflate:
        deflate === false
          ? false
          : {
              // Frames are compressed by Connection (once per distinct frame, shared across connections), which needs
              // every message compressed on its own: no context takeover. ws compresses nothing itself (the server sends no
              // data through ws.send), so these only shape the negotiation.
              serverNoContextTakeover: true,
              serverMaxWindowBits: deflate.windowBits === 15 ? undefined : deflate.windowBits,
              threshold: deflate.threshold,
            },
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(JSON_SUBPROTOCOL) ? JSON_SUBPROTOCOL : protocols.has(MSGPACK_SUBPROTOCOL) ? MSGPACK_SUBPROTOCOL : false),
    });
    // The negotiated permessage-deflate parameters are only in the 101 answer (ws.extensions names the extension alone).
    this.wss.on('headers', (headers, req) => {
      for (const h of headers) if (h.toLowerCase().startsWith('sec-websocket-extensions:')) this.negotiated.set(req, h.slice(25));
    });
    this.ticker = new ChannelState<Connection>({ name: 'ticker', kind: 'ticker', symbol: undefined, timeframe: undefined }, opts.history.tickerSymbols);
    this.channels.set('ticker', this.ticker);
    this.http.on('upgrade', this.onUpgrade);
  }

  /** @internal */
  async start(): Promise<void> {
    if (this.ownsHttp) {
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen(this.opts.port, this.opts.host, () => {
          this.http.off('error', reject);
          resolve();
        });
      });
    }
    if (this.opts.bridge !== undefined) {
      try {
        await this.opts.bridge.start((kind, events) => this.apply(kind, events as readonly FeedEvents[typeof kind][]));
      } catch (e) {
        await this.close();
        throw e instanceof TickflowError ? e : new TickflowError('BRIDGE_FAILED', `could not start the bridge: ${String(e)}`, { cause: e });
      }
    }
    this.flushTimer = setInterval(() => this.tick(), this.flushMs);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs);
  }

  /** The port the server listens on (its own or the attached http.Server's). */
  get port(): number {
    const a = this.http.address();
    return a !== null && typeof a === 'object' ? (a as AddressInfo).port : 0;
  }

  /** `ws://host:port/path` of this server. */
  get url(): string {
    const a = this.http.address() as AddressInfo | null;
    const host = a === null ? this.opts.host : a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `ws://${host}:${this.port}${this.opts.path}`;
  }

  /** Counters (connections, subscriptions, frames and bytes out, conflations, slow-consumer closes, flush latency, …). */
  stats(): WsServerStats {
    let subs = 0;
    let conflatedRows = 0;
    for (const c of this.connections) {
      subs += c.subscriptions.size;
      if (c.behind) conflatedRows += c.conflatedRows;
    }
    return { ...this.counters, connections: this.connections.size, subscriptions: subs, channels: this.channels.size, conflatedRows };
  }

  /**
   * Closes every connection whose principal matches (e.g. the connections of
   * a revoked session) with `code` (default SESSION_REVOKED, 4002). Returns
   * how many were closed.
   *
   * @example
   * ```ts
   * ws.disconnect((p) => p.claims.sid === revokedSid);
   * ```
   */
  disconnect(match: (principal: Principal) => boolean, code: number = CloseCode.SESSION_REVOKED, reason = 'session ended: sign in again'): number {
    let n = 0;
    for (const conn of this.connections) {
      if (conn.closing || !match(conn.principal as Principal)) continue;
      this.closeConnection(conn, code, reason);
      n++;
    }
    return n;
  }

  /**
   * An Output for the pipeline: every batch written is published.
   *
   * @example
   * ```ts
   * await pipeline(source).pipe(keyBy('symbol'), tumbling({ size: '1m', emit: 'update' }, ohlcv())).to(ws.output('candles')).run();
   * ```
   */
  output<K extends FeedKind>(kind: K): Output<FeedEvents[K]> {
    return { write: (batch) => this.publish(kind, batch) };
  }

  /**
   * Applies events to the channels (clients get them at the next flush) and
   * sends them through the bridge to the other nodes.
   *
   * @example
   * ```ts
   * ws.publish('trades', [{ symbol: 'AAPL', ts: Date.now(), price: 150.25, size: 100 }]);
   * ```
   */
  publish<K extends FeedKind>(kind: K, events: readonly FeedEvents[K][]): void {
    if (this.closing) throw new TickflowError('WS_CLOSED', `cannot publish ${kind}: the WebSocket server is closed`);
    this.apply(kind, events);
    this.opts.bridge?.publish(kind, events);
  }

  private apply<K extends FeedKind>(kind: K, events: readonly FeedEvents[K][]): void {
    if (this.closing) return;
    switch (kind) {
      case 'trades':
        for (let i = 0; i < events.length; i++) this.applyTrade(events[i] as Trade);
        break;
      case 'quotes':
        for (let i = 0; i < events.length; i++) {
          const q = events[i] as Quote;
          const ch = this.symbolChannel(this.quoteChannels, 'quotes', q.symbol);
          if (ch !== undefined && ch.upsert(q as unknown as Row)) this.dirty.add(ch);
        }
        break;
      case 'candles':
      case 'profile':
        for (let i = 0; i < events.length; i++) {
          const w = events[i] as Candle | VolumeProfile;
          const ch = this.windowChannel(kind, w.symbol, w.timeframe);
          if (ch !== undefined && ch.upsert(w as unknown as Row)) this.dirty.add(ch);
        }
        break;
      default:
        this.emit('error', new TickflowError('INVALID_ARGUMENT', `unknown feed "${String(kind)}": expected trades, quotes, candles or profile`));
    }
  }

  private applyTrade(t: Trade): void {
    const ch = this.symbolChannel(this.tradeChannels, 'trades', t.symbol);
    if (ch === undefined) return;
    ch.append(t as unknown as Row);
    this.dirty.add(ch);
    const day = Math.floor(t.ts / DAY);
    let st = this.tickerStates.get(t.symbol);
    if (st === undefined || day > st.day) {
      if (this.tickerStates.size >= this.opts.history.tickerSymbols * 2) this.tickerStates.clear();
      st = { symbol: t.symbol, dirty: false, day, open: t.price, last: t.price, ts: t.ts, volume: 0 };
      this.tickerStates.set(t.symbol, st);
    } else if (day < st.day) {
      return; // a trade of a previous UTC day does not move today's ticker
    }
    st.volume += t.size;
    if (t.ts >= st.ts) {
      st.last = t.price;
      st.ts = t.ts;
    }
    if (!st.dirty) {
      st.dirty = true;
      this.tickerDirty.push(st);
    }
  }

  /** Writes the ticker rows of the symbols traded since the last flush into the ticker channel. */
  private applyTicker(): void {
    const states = this.tickerDirty;
    if (states.length === 0) return;
    this.tickerDirty = [];
    let changed = false;
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      st.dirty = false;
      const change = st.last - st.open;
      const row: TickerRow = {
        symbol: st.symbol,
        last: st.last,
        open: st.open,
        change,
        changePct: st.open !== 0 ? (change / st.open) * 100 : 0,
        volume: st.volume,
        ts: st.ts,
      };
      if (this.ticker.upsert(row as unknown as Row)) changed = true;
    }
    if (changed) this.dirty.add(this.ticker);
  }

  private symbolChannel(cache: Map<string, ChannelState<Connection>>, kind: 'trades' | 'quotes', symbol: string): ChannelState<Connection> | undefined {
    let ch = cache.get(symbol);
    if (ch === undefined) {
      ch = this.channelFor(`${kind}:${symbol}`);
      if (ch === undefined) return undefined;
      cache.set(symbol, ch);
    }
    return ch;
  }

  private windowChannel(kind: 'candles' | 'profile', symbol: string, timeframe: string): ChannelState<Connection> | undefined {
    const name = `${kind}:${symbol}:${timeframe}`;
    let ch = this.windowChannels.get(name);
    if (ch === undefined) {
      ch = this.channelFor(name);
      if (ch === undefined) return undefined;
      this.windowChannels.set(name, ch);
    }
    return ch;
  }

  private channelFor(name: string): ChannelState<Connection> | undefined {
    let ch = this.channels.get(name);
    if (ch !== undefined) return ch;
    const parsed = parseChannel(name);
    if (typeof parsed === 'string') {
      this.emit('error', new TickflowError('INVALID_EVENT', `cannot publish to ${parsed}`));
      return undefined;
    }
    const h = this.opts.history;
    const limit = parsed.kind === 'trades' ? h.trades : parsed.kind === 'candles' ? h.candles : parsed.kind === 'profile' ? h.profile : parsed.kind === 'quotes' ? 1 : h.tickerSymbols;
    ch = new ChannelState<Connection>(parsed, limit);
    this.channels.set(name, ch);
    return ch;
  }

  /** Drops a channel that holds nothing and has no subscriber (channels created by subscribes to unknown symbols). */
  private maybeDrop(ch: ChannelState<Connection>): void {
    if (ch.subscribers.size > 0 || ch.size > 0 || ch.dirty || ch === this.ticker) return;
    this.channels.delete(ch.name);
    if (ch.kind === 'trades') this.tradeChannels.delete(ch.name.slice(7));
    else if (ch.kind === 'quotes') this.quoteChannels.delete(ch.name.slice(7));
    else this.windowChannels.delete(ch.name);
  }

  // ---- ConnectionHost ----

  /** @internal */
  channel(name: string): ChannelState<Connection> | undefined {
    return this.channels.get(name);
  }

  /** @internal */
  conflated(conn: Connection, channel: string): void {
    this.counters.conflations++;
    this.behindConns.add(conn);
    if (this.listenerCount('conflation') > 0) this.emit('conflation', { id: conn.id, channel });
  }

  /** @internal */
  slow(conn: Connection): void {
    this.counters.slowConsumerCloses++;
    this.emit('slowConsumer', { id: conn.id, bufferedAmount: conn.ws.bufferedAmount });
    this.closeConnection(conn, CloseCode.SLOW_CONSUMER, `slow consumer: socket buffer above ${this.highWaterMark} bytes for ${this.slowDeadline} ms`);
  }

  /** @internal */
  pending(conn: Connection): void {
    this.behindConns.add(conn);
  }

  /** @internal */
  controlDropped(_conn: Connection): void {
    this.counters.droppedControl++;
  }

  /** @internal */
  frameSent(bytes: number): void {
    this.counters.framesOut++;
    this.counters.bytesOut += bytes;
    this.flushFrames++;
    this.flushBytes += bytes;
  }

  // ---- flush ----

  /**
   * Sends what changed since the last flush: one delta per changed channel,
   * encoded once and shared by every subscriber, then due snapshots, then one
   * frame per connection (the same bytes for connections that get the same
   * messages). Runs every `flushInterval`, writing sockets in slices of about
   * FLUSH_SLICE_MS with I/O (upgrades, client messages) served between them;
   * calling it writes everything now, the rest of a flush under way included.
   */
  flush(): void {
    if (this.sendIndex < this.touched.length) this.send(Infinity);
    this.prepare();
    this.send(Infinity);
  }

  /** The timer's flush: skipped while the previous one is still being written (its connections get this interval's changes at the next). */
  private tick(): void {
    if (this.sendIndex < this.touched.length) return;
    this.prepare();
    this.send(performance.now() + FLUSH_SLICE_MS);
  }

  /** Takes the deltas and due snapshots, offers them to the connections and lists the connections to write. */
  private prepare(): void {
    this.flushStarted = performance.now();
    this.flushFrames = 0;
    this.flushBytes = 0;
    this.applyTicker();
    const touched = this.touched;
    let deltas = 0;
    for (const ch of this.dirty) {
      const delta = ch.takeDelta();
      if (delta === undefined) continue;
      deltas++;
      if (ch.subscribers.size === 0) continue;
      const out = new Outgoing(delta);
      for (const conn of ch.subscribers) {
        conn.offer(ch, out);
        if (!conn.queued) {
          conn.queued = true;
          touched.push(conn);
        }
      }
    }
    this.dirty.clear();
    for (const conn of this.snapshotConns) {
      if (!conn.closing) {
        for (const name of conn.snapshotDue) {
          if (!conn.subscriptions.has(name)) continue;
          const ch = this.channelFor(name);
          if (ch === undefined) continue;
          ch.subscribers.add(conn);
          conn.offer(ch, ch.snapshot());
        }
        if (!conn.queued) {
          conn.queued = true;
          touched.push(conn);
        }
      }
      conn.snapshotDue.clear();
    }
    this.snapshotConns.clear();
    for (const conn of this.behindConns) {
      if (!conn.queued) {
        conn.queued = true;
        touched.push(conn);
      }
    }
    this.flushDeltas = deltas;
  }

  /** Writes the listed connections until `deadline` (performance.now() ms), then continues after pending I/O. */
  private send(deadline: number): void {
    const touched = this.touched;
    const now = Date.now();
    let maxBuffered = this.counters.maxBufferedAmount;
    let i = this.sendIndex;
    for (; i < touched.length; i++) {
      if ((i & 31) === 31 && performance.now() > deadline) break;
      const conn = touched[i]!;
      conn.queued = false;
      conn.flush(now, this.frames);
      const b = conn.ws.bufferedAmount;
      if (b > maxBuffered) maxBuffered = b;
      if (conn.behind && !conn.closing) this.behindConns.add(conn);
      else this.behindConns.delete(conn);
    }
    this.counters.maxBufferedAmount = maxBuffered;
    if (i < touched.length) {
      this.sendIndex = i;
      setImmediate(this.continueSending);
      return;
    }
    touched.length = 0;
    this.sendIndex = 0;
    this.frames.clear();
    const deltas = this.flushDeltas;
    this.counters.deltas += deltas;
    const durationMs = performance.now() - this.flushStarted;
    this.counters.lastFlushMs = durationMs;
    if (durationMs > this.counters.maxFlushMs) this.counters.maxFlushMs = durationMs;
    if (this.listenerCount('flush') > 0 && (deltas > 0 || this.flushFrames > 0)) {
      this.emit('flush', { durationMs, deltas, frames: this.flushFrames, bytes: this.flushBytes });
    }
  }

  private heartbeat(): void {
    for (const conn of this.connections) {
      if (conn.closing) continue;
      if (!conn.alive) {
        this.counters.heartbeatTimeouts++;
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }

  // ---- connections ----

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== this.opts.path) {
      // On a shared server another upgrade handler may own this path.
      if (this.http.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404, `no WebSocket endpoint at ${pathname}`);
      return;
    }
    socket.on('error', () => socket.destroy());
    if (this.closing) {
      rejectUpgrade(socket, 503, 'server shutting down');
      return;
    }
    if (this.connections.size >= this.opts.maxConnections) {
      this.counters.rejectedUpgrades++;
      rejectUpgrade(socket, 503, 'too many connections');
      return;
    }
    let address: string;
    try {
      address = this.opts.clientAddress?.(req) ?? req.socket.remoteAddress ?? 'unknown';
    } catch {
      address = req.socket.remoteAddress ?? 'unknown';
    }
    if (this.upgradeLimiter !== undefined) {
      const wait = this.upgradeLimiter.take(address, Date.now());
      if (wait > 0) {
        this.counters.rejectedUpgrades++;
        this.counters.limitedUpgrades++;
        rejectUpgrade(socket, 429, `too many connection attempts from this address: retry after ${wait} s`, { 'Retry-After': String(wait) });
        return;
      }
    }
    const perAddress = this.opts.maxConnectionsPerAddress;
    if (perAddress !== undefined && (this.byAddress.get(address) ?? 0) >= perAddress) {
      this.counters.rejectedUpgrades++;
      this.counters.limitedUpgrades++;
      rejectUpgrade(socket, 429, `too many connections from this address: at most ${perAddress}`);
      return;
    }
    // Counted from now until the socket closes (whether it became a WebSocket or not), so parallel upgrades cannot pass the cap.
    this.count(this.byAddress, address, socket);
    const hook = this.opts.authenticate;
    if (hook === undefined) {
      this.accept(req, socket, head, ANONYMOUS);
      return;
    }
    let result: ReturnType<AuthenticateHook>;
    try {
      result = hook(req);
    } catch (e) {
      this.authFailed(socket, e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (p) => this.authDone(req, socket, head, p),
        (e: unknown) => this.authFailed(socket, e),
      );
    } else {
      this.authDone(req, socket, head, result);
    }
  };

  private authDone(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal | null | undefined | false): void {
    if (!principal) {
      this.counters.rejectedUpgrades++;
      rejectUpgrade(socket, 401, 'unauthorized: a valid token is required (Authorization: Bearer <jwt> or ?token=<jwt>)');
      return;
    }
    if (this.closing) {
      rejectUpgrade(socket, 503, 'server shutting down');
      return;
    }
    const perSubject = this.opts.maxConnectionsPerSubject;
    if ((this.bySubject.get(principal.subject) ?? 0) >= perSubject) {
      this.counters.rejectedUpgrades++;
      this.counters.limitedUpgrades++;
      rejectUpgrade(socket, 429, `too many connections for this user: at most ${perSubject}`);
      return;
    }
    this.count(this.bySubject, principal.subject, socket);
    this.accept(req, socket, head, principal);
  }

  /** Counts a socket under `key` until it closes. */
  private count(map: Map<string, number>, key: string, socket: Duplex): void {
    map.set(key, (map.get(key) ?? 0) + 1);
    let released = false;
    socket.once('close', () => {
      if (released) return;
      released = true;
      const n = (map.get(key) ?? 1) - 1;
      if (n <= 0) map.delete(key);
      else map.set(key, n);
    });
  }

  private authFailed(socket: Duplex, e: unknown): void {
    this.counters.rejectedUpgrades++;
    this.emit('error', new TickflowError('INTERNAL', `authenticate hook threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
    rejectUpgrade(socket, 401, 'unauthorized');
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void {
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, deflateWindow(this.negotiated.get(req) ?? ''), principal));
  }

  private onConnection(ws: WebSocket, socket: Duplex, deflateBits: number, principal: Principal): void {
    const format: WireFormat = ws.protocol === JSON_SUBPROTOCOL ? 'json' : 'msgpack';
    const id = `${this.nodeId}-${++this.connectionCounter}`;
    const rl = this.opts.rateLimit;
    const conn = new Connection(id, ws, socket, this.deflate === undefined ? 0 : deflateBits, format, principal, new TokenBucket(rl.capacity, rl.refillPerSecond), this);
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (e) => {
      this.emit('error', new TickflowError('INTERNAL', `connection ${id}: ${e.message}`, { cause: e }));
    });
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString()));
    if (principal.expiresAt !== undefined && Number.isFinite(principal.expiresAt)) {
      const wait = Math.max(0, Math.min(principal.expiresAt - Date.now(), 2_147_000_000));
      conn.expiryTimer = setTimeout(() => this.closeConnection(conn, CloseCode.TOKEN_EXPIRED, 'token expired: reconnect with a fresh token'), wait);
    }
    conn.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      connectionId: id,
      flushInterval: this.flushMs,
      heartbeatInterval: this.heartbeatMs,
      maxSubscriptions: this.opts.maxSubscriptions,
    });
    conn.flushControl(Date.now());
    this.emit('connection', { id, principal, format });
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (!this.connections.delete(conn)) return;
    conn.release();
    clearTimeout(conn.expiryTimer);
    clearTimeout(conn.terminateTimer);
    this.unsubscribeAll(conn);
    this.behindConns.delete(conn);
    this.snapshotConns.delete(conn);
    this.emit('disconnect', { id: conn.id, code, reason });
  }

  private unsubscribeAll(conn: Connection): void {
    for (const name of conn.subscriptions) {
      const ch = this.channels.get(name);
      if (ch !== undefined) {
        ch.subscribers.delete(conn);
        this.maybeDrop(ch);
      }
    }
    conn.subscriptions.clear();
  }

  private closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.release();
    this.unsubscribeAll(conn);
    this.behindConns.delete(conn);
    conn.ws.close(code, reason);
    conn.terminateTimer = setTimeout(() => conn.ws.terminate(), this.closeGraceMs);
  }

  /** Error replies: at most ERRORS_PER_MESSAGE per client message, the rest folded into one summary (see onMessage); messages at most 300 characters. */
  private sendError(conn: Connection, code: ProtocolErrorCode, message: string, extra?: { channel?: string | undefined; id?: number | undefined }): void {
    if (++conn.errorsThisMessage > ERRORS_PER_MESSAGE) {
      conn.suppressedErrors++;
      this.counters.suppressedErrors++;
      return;
    }
    conn.send({ type: 'error', code, message: message.length > 300 ? `${message.slice(0, 300)}…` : message, channel: extra?.channel, id: extra?.id });
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.errorsThisMessage = 0;
    conn.suppressedErrors = 0;
    const now = Date.now();
    this.handleMessage(conn, data, isBinary, now);
    if (conn.suppressedErrors > 0) {
      conn.send({ type: 'error', code: 'BAD_MESSAGE', message: `${conn.suppressedErrors} more errors for this message were not sent (at most ${ERRORS_PER_MESSAGE} per message)` });
    }
    conn.errorsThisMessage = 0;
    conn.flushControl(now);
  }

  private handleMessage(conn: Connection, data: RawData, isBinary: boolean, now: number): void {
    if (conn.closing) return;
    conn.alive = true;
    if (!conn.bucket.take(now)) {
      this.counters.rateLimited++;
      conn.dropped++;
      if (conn.dropped >= this.opts.rateLimit.closeAfter) {
        this.closeConnection(conn, CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
      } else if (now - conn.lastRateError >= 1_000) {
        conn.lastRateError = now;
        this.sendError(conn, 'RATE_LIMITED', `too many messages: at most ${this.opts.rateLimit.refillPerSecond}/s (burst ${this.opts.rateLimit.capacity}); this message was dropped`);
      }
      return;
    }
    conn.dropped = 0;
    let raw: unknown;
    try {
      const buf = toBuffer(data);
      raw = isBinary ? decodeClientFrame(buf) : JSON.parse(buf.toString('utf8'));
    } catch {
      this.counters.malformed++;
      this.closeConnection(conn, CloseCode.INVALID_PAYLOAD, isBinary ? 'malformed frame: not MessagePack' : 'malformed frame: not JSON');
      return;
    }
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.counters.malformed++;
      const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : undefined;
      this.sendError(conn, 'BAD_MESSAGE', `bad message: ${formatIssues(parsed.error)}; expected subscribe, unsubscribe, resync or ping (docs/protocol.md)`, { id });
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'subscribe':
        for (const name of msg.channels) this.subscribe(conn, name, msg.id);
        break;
      case 'unsubscribe': {
        const done: string[] = [];
        for (const name of msg.channels) {
          if (!conn.subscriptions.delete(name)) continue;
          conn.forget(name);
          if (conn.queued) conn.dropQueued(name);
          const ch = this.channels.get(name);
          if (ch !== undefined) {
            ch.subscribers.delete(conn);
            this.maybeDrop(ch);
          }
          done.push(name);
          this.emit('unsubscribe', { id: conn.id, channel: name });
        }
        conn.send({ type: 'unsubscribed', channels: done, id: msg.id });
        break;
      }
      case 'resync':
        if (!conn.subscriptions.has(msg.channel)) {
          this.sendError(conn, 'NOT_SUBSCRIBED', `cannot resync ${msg.channel.slice(0, 64)}: not subscribed`, { channel: msg.channel, id: msg.id });
        } else {
          this.snapshotDue(conn, msg.channel);
        }
        break;
      case 'ping':
        conn.send({ type: 'pong', id: msg.id, ts: msg.ts, serverTime: now });
        break;
      default:
        break;
    }
  }

  private snapshotDue(conn: Connection, name: string): void {
    conn.snapshotDue.add(name);
    this.snapshotConns.add(conn);
  }

  private subscribe(conn: Connection, name: string, id: number | undefined): void {
    if (conn.subscriptions.has(name)) {
      this.snapshotDue(conn, name);
      return;
    }
    const channel = parseChannel(name);
    if (typeof channel === 'string') {
      this.sendError(conn, 'UNKNOWN_CHANNEL', channel, { channel: name, id });
      return;
    }
    if (conn.subscriptions.size >= this.opts.maxSubscriptions) {
      this.sendError(conn, 'SUBSCRIPTION_LIMIT', `cannot subscribe to ${name}: at most ${this.opts.maxSubscriptions} subscriptions per connection`, { channel: name, id });
      return;
    }
    conn.subscriptions.add(name);
    const authorize = this.opts.authorize;
    if (authorize === undefined) {
      this.granted(conn, name);
      return;
    }
    const deny = (): void => {
      if (conn.closing || !conn.subscriptions.delete(name)) return;
      this.sendError(conn, 'FORBIDDEN', `not allowed to subscribe to ${name}`, { channel: name, id });
      conn.flushControl(Date.now());
    };
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = authorize(conn.principal as Principal, channel);
    } catch {
      deny();
      return;
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (ok) => {
          if (conn.closing || !conn.subscriptions.has(name)) return;
          if (ok) this.granted(conn, name);
          else deny();
        },
        () => deny(),
      );
    } else if (verdict) {
      this.granted(conn, name);
    } else {
      deny();
    }
  }

  private granted(conn: Connection, name: string): void {
    this.snapshotDue(conn, name);
    this.emit('subscribe', { id: conn.id, channel: name });
  }

  /**
   * Graceful shutdown: stops accepting upgrades, flushes what is pending,
   * sends every client a close frame (1001 by default) after the data queued
   * before it, waits for the close handshakes (terminating stragglers after
   * `timeout`), closes the bridge and, when it owns one, the http server.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closePromise ??= this.shutdown(options);
    return this.closePromise;
  }

  private async shutdown({ code = CloseCode.GOING_AWAY, reason = 'server shutting down', timeout = 5_000 }: CloseOptions): Promise<void> {
    if (this.flushTimer !== undefined) this.flush();
    this.closing = true;
    clearInterval(this.flushTimer);
    clearInterval(this.heartbeatTimer);
    this.http.off('upgrade', this.onUpgrade);
    const waits: Promise<void>[] = [];
    for (const conn of this.connections) {
      const ws = conn.ws;
      waits.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
      clearTimeout(conn.terminateTimer);
      conn.release();
      ws.close(code, reason);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
    clearTimeout(timer);
    for (const conn of this.connections) conn.ws.terminate();
    this.wss.close();
    if (this.opts.bridge !== undefined) {
      try {
        await this.opts.bridge.close();
      } catch (e) {
        this.emit('error', new TickflowError('BRIDGE_FAILED', `closing the bridge failed: ${String(e)}`, { cause: e }));
      }
    }
    if (this.ownsHttp && this.http.listening) {
      await new Promise<void>((resolve) => {
        this.http.close(() => resolve());
        this.http.closeAllConnections();
      });
    }
  }
}

/**
 * Starts the delta-broadcast WebSocket server: attached to `server` (any Node
 * http.Server, e.g. `fastify.server`) at `path`, or listening by itself on
 * `host:port`. Options are validated; a bad one throws INVALID_ARGUMENT.
 *
 * @example
 * ```ts
 * const ws = await startWsServer({ port: 8080, authenticate: jwtAuth({ secret: process.env.JWT_SECRET! }) });
 * job.to(ws.output('candles'));
 * // later
 * await ws.close();
 * ```
 */
export async function startWsServer(options: WsServerOptions = {}): Promise<WsServer> {
  const parsed = WsServerOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TickflowError('INVALID_ARGUMENT', `invalid WebSocket server options: ${formatIssues(parsed.error)}`, { cause: parsed.error });
  const server = new WsServer(parsed.data);
  await server.start();
  return server;
}
