import { performance } from 'node:perf_hooks';
import type { FlushInfo, WsServerStats } from '../wsServerOptions.js';
import type { ChannelState } from './channelState.js';
import type { Connection } from './connection.js';
import { Outgoing, SharedFrames } from './wireCodec.js';

/** How long a flush writes sockets before it lets pending I/O (upgrades, client messages) run. */
export const FLUSH_SLICE_MS = 8;

/** What the flush needs from its server. */
export interface FlusherHost {
  readonly counters: WsServerStats;
  /** Called first in every flush: lets the server write rows it batches per flush (the ticker). */
  beforeFlush(): void;
  /** The channel `name` as `conn` sees it, created when missing (a snapshot of a channel nobody published to yet). */
  openChannel(conn: Connection, name: string): ChannelState<Connection> | undefined;
  /** Emits a `flush` event (only called when someone listens and something was sent). */
  flushed(info: FlushInfo): void;
  hasFlushListeners(): boolean;
}

/**
 * The periodic flush: one delta per changed channel, encoded once and shared
 * by every subscriber, then due snapshots (or recovered items), then one
 * frame per connection (the same bytes for connections that get the same
 * messages). Sockets are written in slices of about FLUSH_SLICE_MS with I/O
 * served between them. Also keeps the connections that are behind
 * (conflating) so each flush revisits them.
 */
export class Flusher {
  /** Channels changed since the last flush. */
  readonly dirty = new Set<ChannelState<Connection>>();
  /** Connections with snapshots due. */
  readonly snapshotConns = new Set<Connection>();
  /** Connections whose socket is behind or that have output waiting. */
  readonly behindConns = new Set<Connection>();
  /** Connections to write in the current flush; `sendIndex` is the next one (a flush yields to I/O between slices). */
  private readonly touched: Connection[] = [];
  private sendIndex = 0;
  private flushStarted = 0;
  private flushDeltas = 0;
  private flushFrames = 0;
  private flushBytes = 0;
  private readonly frames = new SharedFrames();
  private readonly continueSending = (): void => {
    if (this.touched.length > 0) this.send(performance.now() + FLUSH_SLICE_MS);
  };

  constructor(private readonly host: FlusherHost) {}

  /** A frame of `bytes` was written (counted in the current flush). */
  frameSent(bytes: number): void {
    this.flushFrames++;
    this.flushBytes += bytes;
  }

  /** Calling it writes everything now, the rest of a flush under way included. */
  flush(): void {
    if (this.sendIndex < this.touched.length) this.send(Infinity);
    this.prepare();
    this.send(Infinity);
  }

  /** The timer's flush: skipped while the previous one is still being written (its connections get this interval's changes at the next). */
  tick(): void {
    if (this.sendIndex < this.touched.length) return;
    this.prepare();
    this.send(performance.now() + FLUSH_SLICE_MS);
  }

  /** Forgets a connection that closed. */
  remove(conn: Connection): void {
    this.behindConns.delete(conn);
    this.snapshotConns.delete(conn);
  }

  private list(conn: Connection): void {
    if (!conn.queued) {
      conn.queued = true;
      this.touched.push(conn);
    }
  }

  /** Takes the deltas and due snapshots, offers them to the connections and lists the connections to write. */
  private prepare(): void {
    this.flushStarted = performance.now();
    this.flushFrames = 0;
    this.flushBytes = 0;
    this.host.beforeFlush();
    let deltas = 0;
    for (const ch of this.dirty) {
      const delta = ch.takeDelta();
      if (delta === undefined) continue;
      deltas++;
      if (ch.subscribers.size === 0) continue;
      const out = new Outgoing(delta);
      for (const conn of ch.subscribers) {
        conn.offer(ch, out);
        this.list(conn);
      }
    }
    this.dirty.clear();
    const now = Date.now();
    for (const conn of this.snapshotConns) {
      if (!conn.closing) {
        for (const [name, from] of conn.snapshotDue) {
          if (!conn.subscriptions.has(name)) continue;
          const ch = this.host.openChannel(conn, name);
          if (ch === undefined) continue;
          ch.subscribers.add(conn);
          // After the deltas above: the recovered items run up to the channel's current offset, the next delta follows them.
          // Keyed channels need no recovery: their snapshot is their whole state.
          conn.offer(ch, from === undefined || ch.keyField !== undefined ? ch.snapshot() : (ch.recover(from, now) ?? ch.failedRecovery()));
        }
        this.list(conn);
      }
      conn.snapshotDue.clear();
    }
    this.snapshotConns.clear();
    for (const conn of this.behindConns) this.list(conn);
    this.flushDeltas = deltas;
  }

  /** Writes the listed connections until `deadline` (performance.now() ms), then continues after pending I/O. */
  private send(deadline: number): void {
    const touched = this.touched;
    const counters = this.host.counters;
    const now = Date.now();
    let maxBuffered = counters.maxBufferedAmount;
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
    counters.maxBufferedAmount = maxBuffered;
    if (i < touched.length) {
      this.sendIndex = i;
      setImmediate(this.continueSending);
      return;
    }
    touched.length = 0;
    this.sendIndex = 0;
    this.frames.clear();
    const deltas = this.flushDeltas;
    counters.deltas += deltas;
    const durationMs = performance.now() - this.flushStarted;
    counters.lastFlushMs = durationMs;
    if (durationMs > counters.maxFlushMs) counters.maxFlushMs = durationMs;
    if (this.host.hasFlushListeners() && (deltas > 0 || this.flushFrames > 0)) {
      this.host.flushed({ durationMs, deltas, frames: this.flushFrames, bytes: this.flushBytes });
    }
  }
}

/**
 * One heartbeat round: terminates connections that did not answer the
 * previous ping (counted), pings the others.
 */
export function heartbeat(connections: Iterable<Connection>, counters: WsServerStats): void {
  for (const conn of connections) {
    if (conn.closing) continue;
    if (!conn.alive) {
      counters.heartbeatTimeouts++;
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
