import type { WebSocket } from 'ws';
import type { DeltaMessage, ServerMessage, WireFormat } from '../protocol.js';
import type { ChannelState } from './channelState.js';
import { ConflatedDelta } from './conflatedDelta.js';
import type { TokenBucket } from './tokenBucket.js';
import { Outgoing, joinFrame } from './wireCodec.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly highWaterMark: number;
  readonly slowDeadline: number;
  channel(name: string): ChannelState<Connection> | undefined;
  conflated(conn: Connection, channel: string): void;
  slow(conn: Connection): void;
  frameSent(bytes: number): void;
}

/**
 * One client connection: its subscriptions, the messages queued for the next
 * flush (shared encoded messages, never re-encoded per socket), and, while
 * its socket is behind, the conflated changes per channel.
 */
export class Connection {
  readonly subscriptions = new Set<string>();
  /** Channels whose snapshot is due at the next flush. */
  readonly snapshotDue = new Set<string>();
  private outQueue: Outgoing[] = [];
  private outChannels: ChannelState<Connection>[] = [];
  private readonly conflatedByChannel = new Map<string, ConflatedDelta>();
  /** When the socket went above the high-water mark (0 when it is not behind). */
  slowSince = 0;
  /** Answered the last heartbeat. */
  alive = true;
  closing = false;
  /** Listed for the current flush. */
  queued = false;
  /** Messages dropped by the rate limit since the last accepted one. */
  dropped = 0;
  lastRateError = 0;
  /** Closes the connection when its credentials expire. */
  expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Terminates the socket if the close handshake does not finish. */
  terminateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly format: WireFormat,
    readonly principal: unknown,
    readonly bucket: TokenBucket,
    private readonly host: ConnectionHost,
  ) {}

  /** Rows held in conflated entries (bounded by subscriptions × channel limits). */
  get conflatedRows(): number {
    let n = 0;
    for (const c of this.conflatedByChannel.values()) n += c.rows;
    return n;
  }

  /** True while the socket is behind (conflating). */
  get behind(): boolean {
    return this.slowSince !== 0 || this.conflatedByChannel.size > 0;
  }

  /** Queues a shared message of `channel` for the next frame, or conflates it when the socket is behind. */
  offer(channel: ChannelState<Connection>, out: Outgoing): void {
    if (this.closing) return;
    const pending = this.conflatedByChannel.get(channel.name);
    if (pending !== undefined) {
      if (out.msg.type === 'snapshot') pending.toSnapshot();
      else pending.add(out.msg as DeltaMessage);
      this.host.conflated(this, channel.name);
      return;
    }
    if (this.ws.bufferedAmount > this.host.highWaterMark) {
      this.conflate(channel, out);
      return;
    }
    this.outQueue.push(out);
    this.outChannels.push(channel);
  }

  private conflate(channel: ChannelState<Connection>, out: Outgoing): void {
    const first = out.msg.type === 'delta' ? out.msg : undefined;
    this.conflatedByChannel.set(channel.name, new ConflatedDelta(channel.kind, channel.limit, first));
    this.host.conflated(this, channel.name);
  }

  /** Sends everything queued as one frame, unless the socket is behind; closes it when it has been behind too long. */
  flush(now: number): void {
    if (this.closing) return;
    if (this.ws.bufferedAmount > this.host.highWaterMark) {
      if (this.slowSince === 0) this.slowSince = now;
      // Queued messages join the conflated state so their order is kept.
      for (let i = 0; i < this.outQueue.length; i++) {
        const out = this.outQueue[i]!;
        const ch = this.outChannels[i]!;
        const pending = this.conflatedByChannel.get(ch.name);
        if (pending === undefined) this.conflate(ch, out);
        else if (out.msg.type === 'snapshot') pending.toSnapshot();
        else pending.add(out.msg as DeltaMessage);
      }
      this.outQueue = [];
      this.outChannels = [];
      if (now - this.slowSince >= this.host.slowDeadline) this.host.slow(this);
      return;
    }
    this.slowSince = 0;
    if (this.outQueue.length === 0 && this.conflatedByChannel.size === 0) return;
    const parts: (Buffer | string)[] = [];
    if (this.conflatedByChannel.size > 0) {
      for (const [name, pending] of this.conflatedByChannel) {
        const ch = this.host.channel(name);
        if (ch === undefined || !this.subscriptions.has(name)) continue;
        parts.push((pending.snapshot ? ch.snapshot() : new Outgoing(pending.toMessage(name))).encode(this.format));
      }
      this.conflatedByChannel.clear();
    }
    for (let i = 0; i < this.outQueue.length; i++) parts.push(this.outQueue[i]!.encode(this.format));
    this.outQueue = [];
    this.outChannels = [];
    if (parts.length > 0) this.sendFrame(joinFrame(this.format, parts));
  }

  /** Drops a channel's queued and conflated state (unsubscribe). */
  forget(channel: string): void {
    this.conflatedByChannel.delete(channel);
    this.snapshotDue.delete(channel);
  }

  /** Sends one message now, in its own frame (welcome, pong, errors). */
  send(msg: ServerMessage): void {
    if (this.closing) return;
    this.sendFrame(joinFrame(this.format, [new Outgoing(msg).encode(this.format)]));
  }

  private sendFrame(frame: Buffer | string): void {
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    this.ws.send(frame, { binary: typeof frame !== 'string' });
    this.host.frameSent(bytes);
  }

  /** Stops all output and releases queued state (before a close). */
  release(): void {
    this.closing = true;
    this.outQueue = [];
    this.outChannels = [];
    this.conflatedByChannel.clear();
    this.snapshotDue.clear();
  }
}
