// The client SDK. No Node or DOM imports: it runs in browsers, Node, Electron
// and React Native; the WebSocket constructor comes from globalThis or an option.
import { EventEmitter } from 'eventemitter3';
import { Packr, Unpackr } from 'msgpackr';
import { TickflowError } from '@tickflow/core';
import { JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, SHARED_STRUCTURES, parseChannel, sharedStructures } from '../protocol.js';
import type {
  ChannelKind,
  ChannelName,
  ClientMessage,
  DeltaMessage,
  ErrorMessage,
  KindOfChannel,
  RowOfKind,
  ServerMessage,
  SnapshotMessage,
  StreamPosition,
  WireFormat,
} from '../protocol.js';
import { ChannelStore } from './channelStore.js';
import { parseClientOptions } from './clientOptions.js';
import type { ClientOptions, ResolvedClientOptions, WebSocketConstructor } from './clientOptions.js';

/** The row type of a channel name (`'candles:AAPL:1m'` → Candle). */
export type RowOf<C extends string> = RowOfKind[KindOfChannel<C>];

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

/** One channel's update in a batch. */
export interface ChannelUpdate<C extends string = string> {
  readonly channel: C;
  readonly kind: ChannelKind;
  /** The whole local state: list channels oldest first, keyed channels ascending by key. */
  readonly rows: readonly RowOf<C>[];
  /** Appended items (trades) or rows that changed since the last batch, as they are now. */
  readonly changed: readonly RowOf<C>[];
  /** True when a snapshot replaced the state since the last batch. */
  readonly reset: boolean;
  /**
   * List channels after a reconnect (or a gap): true when the missed items
   * were recovered from the server's history (they are in `changed`), false
   * when they could not be (too old, or the server restarted) and a snapshot
   * replaced the state; undefined otherwise.
   */
  readonly recovered: boolean | undefined;
  /** Sequence number of the state. */
  readonly seq: number;
}

/** Connection status. */
export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Events of a TickflowClient. */
export interface ClientEvents {
  /** One batch per `batchInterval` with every channel that changed. */
  batch: (updates: readonly ChannelUpdate[]) => void;
  status: (status: ClientStatus) => void;
  /** A server `error` message (forbidden channel, rate limit, …) or a connection problem. */
  error: (error: { code: string; message: string; channel?: string | undefined }) => void;
  /** The socket closed (a reconnect follows unless `close()` was called). */
  disconnect: (info: { code: number; reason: string }) => void;
}

/** A subscription handle. */
export interface Subscription<C extends string> {
  readonly channel: C;
  /** The channel's current rows (empty until the first snapshot). */
  rows(): readonly RowOf<C>[];
  /** Stops this subscription (the channel is unsubscribed when no handle is left). */
  unsubscribe(): void;
}

interface ChannelEntry {
  readonly store: ChannelStore;
  readonly listeners: Set<(update: ChannelUpdate) => void>;
  handles: number;
}

const OPEN = 1;

/**
 * A tickflow WebSocket client (create it with createClient): subscribe to channels, keep their state
 * locally (snapshot + deltas), and get one batch of changes per interval.
 * Reconnects with backoff and jitter and resubscribes; list channels
 * (`trades:SYM`) recover exactly the items missed meanwhile from the
 * server's history (or get a snapshot flagged `recovered: false`). Resyncs a
 * channel when it sees a sequence gap.
 *
 * @example
 * ```ts
 * const client: TickflowClient = createClient({ url: 'ws://127.0.0.1:8080/ws', WebSocket });
 * client.on('status', (s) => console.log('connection', s));
 * client.close();
 * ```
 */
export class TickflowClient extends EventEmitter<ClientEvents> {
  private readonly o: ResolvedClientOptions;
  private readonly Ctor: WebSocketConstructor;
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
  private readonly unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true, mapsAsObjects: true });
  private socket: SocketLike | undefined;
  private currentStatus: ClientStatus = 'connecting';
  private attempt = 0;
  private closedByUser = false;
  /** The current socket opened. */
  private opened = false;
  /** The last attempt may have been refused for its token: the next one calls `reauthenticate`. */
  private refused = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly batchTimer: ReturnType<typeof setInterval>;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastMessageAt = 0;
  private nextId = 1;
  /** Counters: connects, reconnects, gaps seen, resyncs asked, messages and frames received. */
  readonly stats = { connects: 0, gaps: 0, resyncs: 0, frames: 0, messages: 0 };

  /** @internal use createClient. */
  constructor(o: ResolvedClientOptions, Ctor: WebSocketConstructor) {
    super();
    this.o = o;
    this.Ctor = Ctor;
    this.batchTimer = setInterval(() => this.deliverBatch(), o.batchInterval);
    void this.connect();
  }

  /** Connection status. */
  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** Wire format in use. */
  get format(): WireFormat {
    return this.o.format;
  }

  private setStatus(s: ClientStatus): void {
    if (s === this.currentStatus) return;
    this.currentStatus = s;
    this.emit('status', s);
  }

  /**
   * Subscribes to a channel; `listener` gets its update once per batch.
   *
   * @example
   * ```ts
   * const sub = client.subscribe('candles:AAPL:1m', (u) => chart.setData(u.rows.map((c) => ({ time: c.start / 1000, close: c.close }))));
   * sub.unsubscribe();
   * ```
   */
  subscribe<C extends ChannelName>(channel: C, listener?: (update: ChannelUpdate<C>) => void): Subscription<C> {
    const parsed = parseChannel(channel);
    if (typeof parsed === 'string') throw new TickflowError('INVALID_ARGUMENT', parsed);
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      entry = { store: new ChannelStore(parsed.kind), listeners: new Set(), handles: 0 };
      this.channels.set(channel, entry);
      this.sendMessage({ type: 'subscribe', channels: [channel], id: this.nextId++ });
    }
    entry.handles++;
    const l = listener as ((update: ChannelUpdate) => void) | undefined;
    if (l !== undefined) entry.listeners.add(l);
    const e = entry;
    let active = true;
    return {
      channel,
      rows: () => e.store.rows() as readonly RowOf<C>[],
      unsubscribe: () => {
        if (!active) return;
        active = false;
        if (l !== undefined) e.listeners.delete(l);
        if (--e.handles === 0) {
          this.channels.delete(channel);
          this.sendMessage({ type: 'unsubscribe', channels: [channel], id: this.nextId++ });
        }
      },
    };
  }

  /**
   * The local rows of a subscribed channel (undefined when not subscribed).
   *
   * @example
   * ```ts
   * const last = client.rows('ticker')?.find((t) => t.symbol === 'AAPL')?.last;
   * ```
   */
  rows<C extends ChannelName>(channel: C): readonly RowOf<C>[] | undefined {
    return this.channels.get(channel)?.store.rows() as readonly RowOf<C>[] | undefined;
  }

  /** True when every subscribed channel has a snapshot applied and no gap pending. */
  get synced(): boolean {
    for (const e of this.channels.values()) if (e.store.waiting) return false;
    return true;
  }

  /** Closes the connection for good (no reconnect). */
  close(): void {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.batchTimer);
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
      this.emit('error', reauth ? { code: 'AUTH', message: `could not sign in again: ${why}` } : { code: 'TOKEN', message: `token function failed: ${why}` });
      this.scheduleReconnect();
      return;
    }
    if (this.closedByUser) return;
    let socket: SocketLike;
    try {
      socket = new this.Ctor(url, [this.o.format === 'json' ? JSON_SUBPROTOCOL : MSGPACK_SUBPROTOCOL]) as SocketLike;
    } catch (e) {
      this.emit('error', { code: 'CONNECT', message: e instanceof Error ? e.message : String(e) });
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
    const names = [...this.channels.keys()];
    for (const e of this.channels.values()) e.store.waiting = true;
    for (let i = 0; i < names.length; i += 100) {
      const channels = names.slice(i, i + 100);
      // List channels continue where they stopped: the server sends what they missed (or a snapshot when it cannot).
      let recover: Record<string, StreamPosition> | undefined;
      for (const name of channels) {
        const at = this.channels.get(name)!.store.position();
        if (at !== undefined) (recover ??= {})[name] = at;
      }
      this.sendMessage(recover === undefined ? { type: 'subscribe', channels, id: this.nextId++ } : { type: 'subscribe', channels, recover, id: this.nextId++ });
    }
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.heartbeat(), this.o.pingInterval);
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
    this.sendMessage({ type: 'ping', id: this.nextId++, ts: Date.now() });
  }

  private onClose(socket: SocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    // Closed before opening (a refused upgrade looks like this) or the token/session ended: the next attempt asks for a new token.
    if (this.o.token !== undefined && (!this.opened || code === 4001 || (code === 4002 && reason !== 'heartbeat timeout'))) this.refused = true;
    this.emit('disconnect', { code, reason });
    if (this.closedByUser) {
      this.setStatus('closed');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const r = this.o.reconnect;
    if (r === false || this.closedByUser) {
      this.close();
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

  private sendMessage(msg: ClientMessage): void {
    const s = this.socket;
    if (s === undefined || s.readyState !== OPEN) return; // sent on (re)connect
    s.send(this.o.format === 'json' ? JSON.stringify(msg) : this.packr.pack(msg));
  }

  private onFrame(data: unknown): void {
    this.lastMessageAt = Date.now();
    this.stats.frames++;
    let messages: unknown[];
    try {
      if (typeof data === 'string') {
        const v: unknown = JSON.parse(data);
        messages = Array.isArray(v) ? v : [v];
      } else {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
        if (bytes === undefined) throw new Error('unexpected frame type');
        messages = this.unpackr.unpackMultiple(bytes) as unknown[];
      }
    } catch (e) {
      this.emit('error', { code: 'BAD_FRAME', message: `could not decode a frame: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    for (const m of messages) {
      if (typeof m === 'object' && m !== null) this.onMessage(m as ServerMessage);
    }
  }

  private onMessage(msg: ServerMessage): void {
    this.stats.messages++;
    switch (msg.type) {
      case 'welcome':
        this.attempt = 0;
        break;
      case 'snapshot': {
        const e = this.channels.get(msg.channel);
        if (e !== undefined) e.store.applySnapshot(msg as SnapshotMessage);
        break;
      }
      case 'delta': {
        const e = this.channels.get(msg.channel);
        if (e === undefined) break;
        if (e.store.applyDelta(msg as DeltaMessage) === 'gap') {
          this.stats.gaps++;
          this.stats.resyncs++;
          const recover = e.store.position();
          this.sendMessage(recover === undefined ? { type: 'resync', channel: msg.channel, id: this.nextId++ } : { type: 'resync', channel: msg.channel, recover, id: this.nextId++ });
        }
        break;
      }
      case 'error': {
        const err = msg as ErrorMessage;
        if (err.channel !== undefined && (err.code === 'FORBIDDEN' || err.code === 'UNKNOWN_CHANNEL' || err.code === 'SUBSCRIPTION_LIMIT')) {
          // The subscription was refused: stop holding it.
          this.channels.delete(err.channel);
        }
        this.emit('error', { code: err.code, message: err.message, channel: err.channel });
        break;
      }
      case 'pong':
      case 'unsubscribed':
        break;
      default:
        break;
    }
  }

  private deliverBatch(): void {
    let updates: ChannelUpdate[] | undefined;
    for (const [channel, e] of this.channels) {
      const c = e.store.takeChanges();
      if (c === undefined) continue;
      const u: ChannelUpdate = {
        channel,
        kind: e.store.kind,
        rows: e.store.rows() as readonly RowOf<string>[],
        changed: c.changed as readonly RowOf<string>[],
        reset: c.reset,
        recovered: c.recovered,
        seq: e.store.seq,
      };
      (updates ??= []).push(u);
      for (const l of e.listeners) {
        try {
          l(u);
        } catch (err) {
          this.emit('error', { code: 'LISTENER', message: `a subscription listener threw: ${err instanceof Error ? err.message : String(err)}`, channel });
        }
      }
    }
    if (updates !== undefined) this.emit('batch', updates);
  }
}

/**
 * Creates a client and starts connecting.
 *
 * @example
 * ```ts
 * import { createClient } from '@tickflow/ws-server/client';
 * const client = createClient({ url: 'wss://example.com/ws', token: () => fetchToken() });
 * client.subscribe('ticker', (u) => render(u.rows));
 * client.on('batch', (updates) => console.log(updates.length, 'channels changed'));
 * ```
 */
export function createClient(options: ClientOptions): TickflowClient {
  const parsed = parseClientOptions(options);
  const Ctor = parsed.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ctor === undefined) throw new TickflowError('INVALID_ARGUMENT', 'no WebSocket constructor: pass options.WebSocket (in Node 20: `import { WebSocket } from "ws"`)');
  return new TickflowClient(parsed, Ctor);
}
