// The client SDK. No Node or DOM imports: it runs in browsers, Node, Electron
// and React Native; the WebSocket constructor comes from globalThis or an option.
// Inside: the connection and its reconnects (clientConnection.ts), frame decoding
// (clientCodec.ts), the subscriptions and their batches (subscriptionRegistry.ts),
// recovery after a reconnect or a gap (recovery.ts); this class wires them.
import { EventEmitter } from 'eventemitter3';
import { TickflowError } from '@tickflow/core';
import { parseChannel } from '../protocol.js';
import type { ChannelName, DeltaMessage, ErrorMessage, ServerMessage, SnapshotMessage, WireFormat } from '../protocol.js';
import { ClientConnection } from './clientConnection.js';
import { parseClientOptions } from './clientOptions.js';
import type { ClientOptions, ResolvedClientOptions, WebSocketConstructor } from './clientOptions.js';
import type { ChannelUpdate, ClientEvents, ClientStats, ClientStatus, RowOf, Subscription } from './clientTypes.js';
import { resubscribeMessages, resyncMessage } from './recovery.js';
import { SubscriptionRegistry } from './subscriptionRegistry.js';

export type { ChannelUpdate, ClientEvents, ClientStatus, RowOf, Subscription } from './clientTypes.js';

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
  private readonly registry = new SubscriptionRegistry();
  private readonly conn: ClientConnection;
  private readonly batchTimer: ReturnType<typeof setInterval>;
  /** Counters: connects, reconnects, gaps seen, resyncs asked, messages and frames received. */
  readonly stats: ClientStats = { connects: 0, gaps: 0, resyncs: 0, frames: 0, messages: 0 };

  /** @internal use createClient. */
  constructor(o: ResolvedClientOptions, Ctor: WebSocketConstructor) {
    super();
    this.o = o;
    this.conn = new ClientConnection(
      o,
      Ctor,
      {
        opened: () => {
          for (const m of resubscribeMessages(this.registry, () => this.conn.nextId())) this.conn.send(m);
        },
        messages: (messages) => {
          for (const m of messages) {
            if (typeof m === 'object' && m !== null) this.onMessage(m as ServerMessage);
          }
        },
        status: (s) => this.emit('status', s),
        error: (e) => this.emit('error', e),
        disconnect: (info) => this.emit('disconnect', info),
        gaveUp: () => this.close(),
      },
      this.stats,
    );
    this.batchTimer = setInterval(() => this.deliverBatch(), o.batchInterval);
    this.conn.start();
  }

  /** Connection status. */
  get status(): ClientStatus {
    return this.conn.status;
  }

  /** Wire format in use. */
  get format(): WireFormat {
    return this.o.format;
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
    const l = listener as ((update: ChannelUpdate) => void) | undefined;
    const { entry, added } = this.registry.add(channel, parsed.kind, l);
    if (added) this.conn.send({ type: 'subscribe', channels: [channel], id: this.conn.nextId() });
    let active = true;
    return {
      channel,
      rows: () => entry.store.rows() as readonly RowOf<C>[],
      unsubscribe: () => {
        if (!active) return;
        active = false;
        if (this.registry.release(channel, entry, l)) this.conn.send({ type: 'unsubscribe', channels: [channel], id: this.conn.nextId() });
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
    return this.registry.get(channel)?.store.rows() as readonly RowOf<C>[] | undefined;
  }

  /** True when every subscribed channel has a snapshot applied and no gap pending. */
  get synced(): boolean {
    return this.registry.synced;
  }

  /** Closes the connection for good (no reconnect). */
  close(): void {
    clearInterval(this.batchTimer);
    this.conn.close();
  }

  private onMessage(msg: ServerMessage): void {
    this.stats.messages++;
    switch (msg.type) {
      case 'welcome':
        this.conn.welcomed();
        break;
      case 'snapshot': {
        const e = this.registry.get(msg.channel);
        if (e !== undefined) e.store.applySnapshot(msg as SnapshotMessage);
        break;
      }
      case 'delta': {
        const e = this.registry.get(msg.channel);
        if (e === undefined) break;
        if (e.store.applyDelta(msg as DeltaMessage) === 'gap') {
          this.stats.gaps++;
          this.stats.resyncs++;
          this.conn.send(resyncMessage(msg.channel, e.store.position(), this.conn.nextId()));
        }
        break;
      }
      case 'error': {
        const err = msg as ErrorMessage;
        if (err.channel !== undefined && (err.code === 'FORBIDDEN' || err.code === 'UNKNOWN_CHANNEL' || err.code === 'SUBSCRIPTION_LIMIT')) {
          // The subscription was refused: stop holding it.
          this.registry.delete(err.channel);
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
    const updates = this.registry.deliver((e) => this.emit('error', e));
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
