// The client's connection: opens the socket (token in the URL), watches it with pings, and
// reconnects with backoff and jitter until closed. What travels over it is the client's business
// (tickflowClient.ts); this file only knows sockets, tokens and timers.
import { JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL } from '../protocol.js';
import type { ClientMessage } from '../protocol.js';
import { ClientCodec } from './clientCodec.js';
import type { ResolvedClientOptions, WebSocketConstructor } from './clientOptions.js';
import type { ClientError, ClientStats, ClientStatus } from './clientTypes.js';

/** The subset of the WebSocket API the client uses. */
interface SocketLike {
  readonly readyState: number;
  readonly protocol: string;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** What a {@link ClientConnection} tells its owner. */
export interface ConnectionEvents {
  /** A socket opened: subscribe again. */
  opened(): void;
  /** The messages of one frame, decoded. */
  messages(messages: readonly unknown[]): void;
  status(status: ClientStatus): void;
  error(error: ClientError): void;
  disconnect(info: { code: number; reason: string }): void;
  /** Reconnecting is off and the socket closed: the client ends. */
  gaveUp(): void;
}

const OPEN = 1;

/** One logical connection over successive sockets. */
export class ClientConnection {
  private readonly codec: ClientCodec;
  private socket: SocketLike | undefined;
  private currentStatus: ClientStatus = 'connecting';
  private attempt = 0;
  private closedByUser = false;
  /** The current socket opened. */
  private opened = false;
  /** The last attempt may have been refused for its token: the next one calls `reauthenticate`. */
  private refused = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastMessageAt = 0;
  private lastId = 0;

  constructor(
    private readonly o: ResolvedClientOptions,
    private readonly Ctor: WebSocketConstructor,
    private readonly events: ConnectionEvents,
    private readonly stats: ClientStats,
  ) {
    this.codec = new ClientCodec(o.format);
  }

  /** Connection status. */
  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** The next message id. */
  nextId(): number {
    return ++this.lastId;
  }

  /** Starts the first attempt. */
  start(): void {
    void this.connect();
  }

  /** The server welcomed us: the backoff starts again from its first step. */
  welcomed(): void {
    this.attempt = 0;
  }

  /** Sends `msg` when a socket is open; otherwise drops it (subscriptions are sent again on (re)connect). */
  send(msg: ClientMessage): void {
    const s = this.socket;
    if (s === undefined || s.readyState !== OPEN) return;
    s.send(this.codec.encode(msg));
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) {
      try {
        s.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.setStatus('closed');
  }

  private setStatus(s: ClientStatus): void {
    if (s === this.currentStatus) return;
    this.currentStatus = s;
    this.events.status(s);
  }

  private async connect(): Promise<void> {
    if (this.closedByUser) return;
    let url = this.o.url;
    const reauth = this.refused && this.o.reauthenticate !== undefined;
    try {
      const t = this.o.token;
      const token = reauth ? await this.o.reauthenticate!() : typeof t === 'function' ? await t() : t;
      if (token !== undefined && token !== '') {
        url += `${url.includes('?') ? '&' : '?'}${encodeURIComponent(this.o.tokenParam)}=${encodeURIComponent(token)}`;
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.events.error(reauth ? { code: 'AUTH', message: `could not sign in again: ${why}` } : { code: 'TOKEN', message: `token function failed: ${why}` });
      this.scheduleReconnect();
      return;
    }
    if (this.closedByUser) return;
    let socket: SocketLike;
    try {
      socket = new this.Ctor(url, [this.o.format === 'json' ? JSON_SUBPROTOCOL : MSGPACK_SUBPROTOCOL]) as SocketLike;
    } catch (e) {
      this.events.error({ code: 'CONNECT', message: e instanceof Error ? e.message : String(e) });
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.opened = false;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => this.onOpen(socket);
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.onFrame(ev.data);
    };
    socket.onerror = () => {
      // a close event follows
    };
    socket.onclose = (ev) => this.onClose(socket, ev.code, ev.reason);
  }

  private onOpen(socket: SocketLike): void {
    if (this.socket !== socket) return;
    this.opened = true;
    this.refused = false;
    this.stats.connects++;
    this.lastMessageAt = Date.now();
    this.setStatus('open');
    this.events.opened();
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.heartbeat(), this.o.pingInterval);
  }

  private onFrame(data: unknown): void {
    this.lastMessageAt = Date.now();
    this.stats.frames++;
    let messages: unknown[];
    try {
      messages = this.codec.decode(data);
    } catch (e) {
      this.events.error({ code: 'BAD_FRAME', message: `could not decode a frame: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    this.events.messages(messages);
  }

  private heartbeat(): void {
    const s = this.socket;
    if (s === undefined || s.readyState !== OPEN) return;
    if (Date.now() - this.lastMessageAt > this.o.pingInterval + this.o.pongTimeout) {
      // Nothing heard for too long: the connection is dead even if the socket does not know yet.
      this.onClose(s, 4002, 'heartbeat timeout');
      try {
        s.close(4002, 'heartbeat timeout');
      } catch {
        // ignore
      }
      return;
    }
    this.send({ type: 'ping', id: this.nextId(), ts: Date.now() });
  }

  private onClose(socket: SocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    // Closed before opening (a refused upgrade looks like this) or the token/session ended: the next attempt asks for a new token.
    if (this.o.token !== undefined && (!this.opened || code === 4001 || (code === 4002 && reason !== 'heartbeat timeout'))) this.refused = true;
    this.events.disconnect({ code, reason });
    if (this.closedByUser) {
      this.setStatus('closed');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const r = this.o.reconnect;
    if (r === false || this.closedByUser) {
      this.events.gaveUp();
      return;
    }
    this.setStatus('reconnecting');
    const base = Math.min(r.maxDelay, r.initialDelay * r.factor ** this.attempt);
    const delay = base * (1 - r.jitter * Math.random());
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.setStatus('connecting');
      void this.connect();
    }, delay);
  }
}
