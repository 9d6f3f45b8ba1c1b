import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import type { WebSocket, WebSocketServer } from 'ws';
import { TickflowError, formatIssues, ms } from '@tickflow/core';
import type { Output } from '@tickflow/core';
import { CloseCode, JSON_SUBPROTOCOL, PROTOCOL_VERSION } from './protocol.js';
import type { StreamPosition, UserRow, WireFormat } from './protocol.js';
import { ChannelRegistry, applyFeed, channelKey } from './internal/channelRegistry.js';
import type { ChannelState } from './internal/channelState.js';
import { ClientMessages } from './internal/clientMessages.js';
import { Connection, closeAll, deflateWindow } from './internal/connection.js';
import type { ConnectionHost } from './internal/connection.js';
import { Flusher, heartbeat } from './internal/flusher.js';
import { TickerStates } from './internal/tickerState.js';
import { TokenBucket } from './internal/tokenBucket.js';
import { UpgradeGate, createHandshake } from './internal/upgradeGate.js';
import type { DeflateSettings } from './internal/wireCodec.js';
import { WsServerOptionsSchema, emptyStats } from './wsServerOptions.js';
import type { CloseOptions, FeedEvents, FeedKind, Principal, ResolvedWsServerOptions, WsServerEvents, WsServerOptions, WsServerStats } from './wsServerOptions.js';

/**
 * The delta-broadcast WebSocket server. Create it with startWsServer; feed it
 * with `output(kind)` (a pipeline Output), `publish(kind, events)`, and a
 * user's private channels with `publishTo(subject, channel, rows)`.
 *
 * The parts, one file each: the upgrade gate (internal/upgradeGate.ts), the
 * channel registry (internal/channelRegistry.ts), the ticker's day state
 * (internal/tickerState.ts), client messages (internal/clientMessages.ts),
 * flush and heartbeat (internal/flusher.ts); this class wires them to the
 * connections.
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
  /** @internal counters since start (see stats()). */
  readonly counters: WsServerStats = emptyStats();
  private readonly opts: ResolvedWsServerOptions;
  private readonly flushMs: number;
  private readonly heartbeatMs: number;
  private readonly closeGraceMs: number;
  private readonly http: HttpServer;
  private readonly ownsHttp: boolean;
  private readonly wss: WebSocketServer;
  private readonly nodeId: string;
  private readonly connections = new Set<Connection>();
  private readonly registry: ChannelRegistry<Connection>;
  private readonly tickers: TickerStates;
  private readonly flusher: Flusher;
  private readonly gate: UpgradeGate;
  private readonly messages: ClientMessages;
  private flushTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private closingNow = false;
  private closePromise: Promise<void> | undefined;
  private connectionCounter = 0;
  private readonly negotiated: WeakMap<IncomingMessage, string>;

  /** @internal use startWsServer. */
  constructor(opts: ResolvedWsServerOptions) {
    super();
    this.opts = opts;
    this.flushMs = ms(opts.flushInterval, 'flushInterval');
    this.heartbeatMs = ms(opts.heartbeatInterval, 'heartbeatInterval');
    this.slowDeadline = ms(opts.slowConsumer.deadline, 'slowConsumer.deadline');
    this.closeGraceMs = ms(opts.slowConsumer.closeGrace, 'slowConsumer.closeGrace');
    this.highWaterMark = opts.slowConsumer.highWaterMark;
    this.nodeId = opts.nodeId ?? Math.random().toString(36).slice(2, 10);
    this.ownsHttp = opts.server === undefined;
    this.http = opts.server ?? createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket endpoint: connect with a WebSocket client');
    });
    const handshake = createHandshake(opts);
    this.deflate = handshake.deflate;
    this.wss = handshake.wss;
    this.negotiated = handshake.negotiated;
    this.registry = new ChannelRegistry<Connection>(
      opts.history,
      { size: opts.recovery.size, maxAge: ms(opts.recovery.maxAge, 'recovery.maxAge') },
      (why) => this.emit('error', new TickflowError('INVALID_EVENT', `cannot publish to ${why}`)),
    );
    this.tickers = new TickerStates(opts.history.tickerSymbols);
    this.flusher = new Flusher({
      counters: this.counters,
      beforeFlush: () => {
        if (this.tickers.drainInto(this.registry.ticker)) this.flusher.dirty.add(this.registry.ticker);
      },
      openChannel: (conn, name) => this.registry.open(name, subjectOf(conn)),
      flushed: (info) => this.emit('flush', info),
      hasFlushListeners: () => this.listenerCount('flush') > 0,
    });
    this.gate = new UpgradeGate(opts, this.http, {
      isClosing: () => this.closingNow,
      connectionCount: () => this.connections.size,
      counters: this.counters,
      error: (e) => this.emit('error', e),
      accept: (req, socket, head, principal) => this.accept(req, socket, head, principal),
    });
    this.messages = new ClientMessages(opts, {
      counters: this.counters,
      closeConnection: (conn, code, reason) => this.closeConnection(conn, code, reason),
      snapshotDue: (conn, name, from) => this.snapshotDue(conn, name, from),
      left: (conn, name) => {
        this.leave(conn, name);
        this.emit('unsubscribe', { id: conn.id, channel: name });
      },
      subscribed: (conn, name) => this.emit('subscribe', { id: conn.id, channel: name }),
    });
    this.http.on('upgrade', this.gate.onUpgrade);
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
    this.flushTimer = setInterval(() => this.flusher.tick(), this.flushMs);
    this.heartbeatTimer = setInterval(() => heartbeat(this.connections, this.counters), this.heartbeatMs);
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
    return { ...this.counters, connections: this.connections.size, subscriptions: subs, channels: this.registry.size, conflatedRows };
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
    if (this.closingNow) throw new TickflowError('WS_CLOSED', `cannot publish ${kind}: the WebSocket server is closed`);
    this.apply(kind, events);
    this.opts.bridge?.publish(kind, events);
  }

  /**
   * Upserts rows (keyed by `id`) into the private channel `channel`
   * (`user:TOPIC`) of the user `subject`: only that user's connections
   * subscribed to `channel` get them. Private channels are not carried by
   * the bridge (they belong to the node that serves the user).
   *
   * @example
   * ```ts
   * ws.publishTo('alice', 'user:orders', [{ id: 'o7', status: 'filled', fillPrice: 150.25 }]);
   * ```
   */
  publishTo(subject: string, channel: `user:${string}`, rows: readonly UserRow[]): void {
    if (this.closingNow) throw new TickflowError('WS_CLOSED', `cannot publish to ${channel}: the WebSocket server is closed`);
    const ch = this.registry.upsertPrivate(subject, channel, rows);
    if (ch !== undefined) this.flusher.dirty.add(ch);
  }

  private apply<K extends FeedKind>(kind: K, events: readonly FeedEvents[K][]): void {
    if (this.closingNow) return;
    if (!applyFeed(this.registry, this.tickers, this.flusher.dirty, kind, events)) {
      this.emit('error', new TickflowError('INVALID_ARGUMENT', `unknown feed "${String(kind)}": expected trades, quotes, candles or profile`));
    }
  }

  /**
   * Sends what changed since the last flush (see internal/flusher.ts). Runs
   * every `flushInterval`; calling it writes everything now, the rest of a
   * flush under way included.
   */
  flush(): void {
    this.flusher.flush();
  }

  // ---- connections ----

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
    ws.on('message', (data, isBinary) => this.messages.onMessage(conn, data, isBinary));
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
    this.flusher.remove(conn);
    this.emit('disconnect', { id: conn.id, code, reason });
  }

  /** Removes `conn` from the subscribers of `name` and drops the channel if it became idle. */
  private leave(conn: Connection, name: string): void {
    const ch = this.registry.get(channelKey(name, subjectOf(conn)));
    if (ch !== undefined) {
      ch.subscribers.delete(conn);
      this.registry.dropIfIdle(ch);
    }
  }

  private unsubscribeAll(conn: Connection): void {
    for (const name of conn.subscriptions) this.leave(conn, name);
    conn.subscriptions.clear();
  }

  private closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.release();
    this.unsubscribeAll(conn);
    this.flusher.behindConns.delete(conn);
    conn.ws.close(code, reason);
    conn.terminateTimer = setTimeout(() => conn.ws.terminate(), this.closeGraceMs);
  }

  private snapshotDue(conn: Connection, name: string, from: StreamPosition | undefined): void {
    conn.snapshotDue.set(name, from);
    this.flusher.snapshotConns.add(conn);
  }

  // ---- ConnectionHost ----

  /** @internal */
  channel(conn: Connection, name: string): ChannelState<Connection> | undefined {
    return this.registry.get(channelKey(name, subjectOf(conn)));
  }

  /** @internal */
  conflated(conn: Connection, channel: string): void {
    this.counters.conflations++;
    this.flusher.behindConns.add(conn);
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
    this.flusher.behindConns.add(conn);
  }

  /** @internal */
  controlDropped(_conn: Connection): void {
    this.counters.droppedControl++;
  }

  /** @internal */
  frameSent(bytes: number): void {
    this.counters.framesOut++;
    this.counters.bytesOut += bytes;
    this.flusher.frameSent(bytes);
  }

  // ---- shutdown ----

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
    if (this.flushTimer !== undefined) this.flusher.flush();
    this.closingNow = true;
    clearInterval(this.flushTimer);
    clearInterval(this.heartbeatTimer);
    this.http.off('upgrade', this.gate.onUpgrade);
    await closeAll(this.connections, code, reason, timeout);
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

/** The subject a connection's private channels belong to. */
function subjectOf(conn: Connection): string {
  return (conn.principal as Principal).subject;
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
