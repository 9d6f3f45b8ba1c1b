import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { DeltaMessage, ServerMessage, StreamPosition, WireFormat } from '../protocol.js';
import type { ChannelState } from './channelState.js';
import { ConflatedDelta } from './conflatedDelta.js';
import type { TokenBucket } from './tokenBucket.js';
import { Frame, Outgoing } from './wireCodec.js';
import type { DeflateSettings, SharedFrames } from './wireCodec.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly highWaterMark: number;
  /** Compression of frames for connections that negotiated permessage-deflate (undefined when the server does not offer it). */
  readonly deflate: DeflateSettings | undefined;
  readonly slowDeadline: number;
  /** The state of channel `name` as `conn` sees it (private channels are per subject). */
  channel(conn: Connection, name: string): ChannelState<Connection> | undefined;
  conflated(conn: Connection, channel: string): void;
  slow(conn: Connection): void;
  frameSent(bytes: number): void;
  /** The connection has output waiting for its socket: revisit it at every flush (deadline check). */
  pending(conn: Connection): void;
  /** A control message was dropped because the connection already had MAX_CONTROL waiting. */
  controlDropped(conn: Connection): void;
}

/** Control messages (welcome, pong, unsubscribed, errors) one connection may have waiting for its socket; more are dropped. */
export const MAX_CONTROL = 64;

/**
 * One client connection: its subscriptions, the messages queued for the next
 * flush (shared encoded messages, never re-encoded per socket), and, while
 * its socket is behind, the conflated changes per channel.
 */
export class Connection {
  readonly subscriptions = new Set<string>();
  /** Channels whose snapshot is due at the next flush, with the position to recover from when the client gave one. */
  readonly snapshotDue = new Map<string, StreamPosition | undefined>();
  private outQueue: Outgoing[] = [];
  private outChannels: ChannelState<Connection>[] = [];
  private readonly conflatedByChannel = new Map<string, ConflatedDelta>();
  /** Control messages waiting for the socket (bounded by MAX_CONTROL). */
  private control: Outgoing[] = [];
  /** Error replies to the client message being handled (see WsServer: a few, then one summary). */
  errorsThisMessage = 0;
  suppressedErrors = 0;
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

  /**
   * @param socket the upgraded socket under `ws`: complete frames are written
   *   to it directly (one write per flush, the same bytes for every
   *   connection with the same messages and compression).
   * @param deflateBits the server's compression window when permessage-deflate
   *   was negotiated (see deflateWindow), else 0.
   */
  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly deflateBits: number,
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
    return this.slowSince !== 0 || this.conflatedByChannel.size > 0 || this.control.length > 0;
  }

  /** Queues a shared message of `channel` for the next frame, or conflates it when the socket is behind. */
  offer(channel: ChannelState<Connection>, out: Outgoing): void {
    if (this.closing) return;
    if (this.conflatedByChannel.size > 0) {
      const pending = this.conflatedByChannel.get(channel.name);
      if (pending !== undefined) {
        if (out.msg.type === 'snapshot') pending.toSnapshot();
        else pending.add(out.msg as DeltaMessage);
        this.host.conflated(this, channel.name);
        return;
      }
    }
    // The socket's buffer is checked once per flush (flush conflates what is queued when it is behind), not per message.
    this.outQueue.push(out);
    this.outChannels.push(channel);
  }

  private conflate(channel: ChannelState<Connection>, out: Outgoing): void {
    const first = out.msg.type === 'delta' ? out.msg : undefined;
    this.conflatedByChannel.set(channel.name, new ConflatedDelta(channel.kind, channel.limit, first));
    this.host.conflated(this, channel.name);
  }

  /**
   * Sends everything queued as one frame, unless the socket is behind; closes
   * it when it has been behind too long. A frame of shared messages only is
   * taken from (or added to) `frames`, so connections with the same
   * subscriptions share its bytes.
   */
  flush(now: number, frames: SharedFrames): void {
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
    if (this.conflatedByChannel.size === 0 && this.control.length === 0) {
      if (this.outQueue.length === 0) return;
      const frame = frames.get(this.format, this.outQueue);
      this.outQueue.length = 0;
      this.outChannels.length = 0;
      this.sendFrame(frame);
      return;
    }
    const outs: Outgoing[] = this.control;
    this.control = [];
    if (this.conflatedByChannel.size > 0) {
      for (const [name, pending] of this.conflatedByChannel) {
        const ch = this.host.channel(this, name);
        if (ch === undefined || !this.subscriptions.has(name)) continue;
        outs.push(pending.snapshot ? ch.snapshot() : new Outgoing(pending.toMessage(name)));
      }
      this.conflatedByChannel.clear();
    }
    for (let i = 0; i < this.outQueue.length; i++) outs.push(this.outQueue[i]!);
    this.outQueue = [];
    this.outChannels = [];
    if (outs.length > 0) this.sendFrame(new Frame(this.format, outs));
  }

  /** Drops what is queued for `channel` in the current flush (unsubscribed while its flush was being written). */
  dropQueued(channel: string): void {
    for (let i = this.outChannels.length - 1; i >= 0; i--) {
      if (this.outChannels[i]!.name !== channel) continue;
      this.outChannels.splice(i, 1);
      this.outQueue.splice(i, 1);
    }
  }

  /** Drops a channel's queued and conflated state (unsubscribe). */
  forget(channel: string): void {
    this.conflatedByChannel.delete(channel);
    this.snapshotDue.delete(channel);
  }

  /**
   * Queues a control message (welcome, pong, unsubscribed, error). It goes
   * out through the same bounded path as data: written by flushControl or the
   * next flush when the socket is below the high-water mark, else kept
   * (at most MAX_CONTROL, more are dropped and counted) while the
   * slow-consumer deadline runs.
   */
  send(msg: ServerMessage): void {
    if (this.closing) return;
    if (this.control.length >= MAX_CONTROL) {
      this.host.controlDropped(this);
      return;
    }
    this.control.push(new Outgoing(msg));
  }

  /** Writes the queued control messages now, as one frame, when the socket has room; else leaves them to the flush and checks the deadline. */
  flushControl(now: number): void {
    if (this.closing || this.control.length === 0) return;
    if (this.ws.bufferedAmount > this.host.highWaterMark || this.conflatedByChannel.size > 0 || this.outQueue.length > 0) {
      if (this.ws.bufferedAmount > this.host.highWaterMark && this.slowSince === 0) this.slowSince = now;
      this.host.pending(this);
      if (this.slowSince !== 0 && now - this.slowSince >= this.host.slowDeadline) this.host.slow(this);
      return;
    }
    const frame = new Frame(this.format, this.control);
    this.control = [];
    this.sendFrame(frame);
  }

  /**
   * Writes a frame straight to the socket (one write, no copy), compressed
   * when the connection negotiated permessage-deflate. Nothing is written
   * once the WebSocket is closing (its close frame must be the last).
   */
  private sendFrame(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const deflate = this.host.deflate;
    this.socket.write(this.deflateBits !== 0 && deflate !== undefined ? frame.deflated(this.deflateBits, deflate) : frame.bytes);
    this.host.frameSent(frame.payload.length);
  }

  /** Stops all output and releases queued state (before a close). */
  release(): void {
    this.closing = true;
    this.outQueue = [];
    this.outChannels = [];
    this.control = [];
    this.conflatedByChannel.clear();
    this.snapshotDue.clear();
  }
}

/**
 * The server's window size (bits) of a negotiated permessage-deflate, from
 * the server's Sec-WebSocket-Extensions answer to the upgrade, or 0 without it. The
 * server always answers server_no_context_takeover (see WsServer), so every
 * message is compressed on its own.
 */
export function deflateWindow(extensions: string): number {
  for (const ext of extensions.split(',')) {
    const params = ext.split(';').map((p) => p.trim());
    if (params[0] !== 'permessage-deflate') continue;
    let bits = 15;
    for (const p of params) {
      const m = /^server_max_window_bits\s*=\s*"?(\d+)"?$/.exec(p);
      if (m !== null) bits = Number(m[1]);
    }
    // zlib's raw deflate has no 8-bit window (it would use 9, more than such a client accepts): those get plain frames.
    return bits >= 9 ? bits : 0;
  }
  return 0;
}

/**
 * Sends every connection a close frame (after the data queued before it),
 * waits for the close handshakes up to `timeout` ms, then terminates the
 * sockets still open.
 */
export async function closeAll(connections: Iterable<Connection>, code: number, reason: string, timeout: number): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const conn of connections) {
    const ws = conn.ws;
    waits.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
    clearTimeout(conn.terminateTimer);
    conn.release();
    ws.close(code, reason);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
  clearTimeout(timer);
  for (const conn of connections) conn.ws.terminate();
}
