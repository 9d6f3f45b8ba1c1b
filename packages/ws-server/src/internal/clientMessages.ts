import type { RawData } from 'ws';
import { formatIssues } from '@tickflow/core';
import { CloseCode, parseChannel } from '../protocol.js';
import type { ProtocolErrorCode, StreamPosition } from '../protocol.js';
import type { Principal, ResolvedWsServerOptions, WsServerStats } from '../wsServerOptions.js';
import { ClientMessageSchema } from './clientMessageSchema.js';
import type { Connection } from './connection.js';
import { decodeClientFrame } from './wireCodec.js';

/** Error replies sent for one client message before the rest are folded into one summary error. */
export const ERRORS_PER_MESSAGE = 16;

/** What client-message handling needs from its server. */
export interface ClientMessageHost {
  readonly counters: WsServerStats;
  closeConnection(conn: Connection, code: number, reason: string): void;
  /** Sends `name` a snapshot at the next flush (or, with `from`, what the connection missed since). */
  snapshotDue(conn: Connection, name: string, from: StreamPosition | undefined): void;
  /** The connection left channel `name` (already removed from its subscriptions). */
  left(conn: Connection, name: string): void;
  subscribed(conn: Connection, name: string): void;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Handles what clients send: the per-connection rate limit, decoding and
 * validation (a frame that does not decode closes the connection, a message
 * that does not validate gets BAD_MESSAGE), then subscribe (channel name,
 * subscription limit, private channels, the authorize hook), unsubscribe,
 * resync and ping. Error replies are bounded per message.
 */
export class ClientMessages {
  constructor(
    private readonly opts: ResolvedWsServerOptions,
    private readonly host: ClientMessageHost,
  ) {}

  /** A frame from `conn`. */
  onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.errorsThisMessage = 0;
    conn.suppressedErrors = 0;
    const now = Date.now();
    this.handle(conn, data, isBinary, now);
    if (conn.suppressedErrors > 0) {
      conn.send({ type: 'error', code: 'BAD_MESSAGE', message: `${conn.suppressedErrors} more errors for this message were not sent (at most ${ERRORS_PER_MESSAGE} per message)` });
    }
    conn.errorsThisMessage = 0;
    conn.flushControl(now);
  }

  /** Error replies: at most ERRORS_PER_MESSAGE per client message, the rest folded into one summary (see onMessage); messages at most 300 characters. */
  private sendError(conn: Connection, code: ProtocolErrorCode, message: string, extra?: { channel?: string | undefined; id?: number | undefined }): void {
    if (++conn.errorsThisMessage > ERRORS_PER_MESSAGE) {
      conn.suppressedErrors++;
      this.host.counters.suppressedErrors++;
      return;
    }
    conn.send({ type: 'error', code, message: message.length > 300 ? `${message.slice(0, 300)}…` : message, channel: extra?.channel, id: extra?.id });
  }

  private handle(conn: Connection, data: RawData, isBinary: boolean, now: number): void {
    if (conn.closing) return;
    conn.alive = true;
    const counters = this.host.counters;
    const rl = this.opts.rateLimit;
    if (!conn.bucket.take(now)) {
      counters.rateLimited++;
      conn.dropped++;
      if (conn.dropped >= rl.closeAfter) {
        this.host.closeConnection(conn, CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
      } else if (now - conn.lastRateError >= 1_000) {
        conn.lastRateError = now;
        this.sendError(conn, 'RATE_LIMITED', `too many messages: at most ${rl.refillPerSecond}/s (burst ${rl.capacity}); this message was dropped`);
      }
      return;
    }
    conn.dropped = 0;
    let raw: unknown;
    try {
      const buf = toBuffer(data);
      raw = isBinary ? decodeClientFrame(buf) : JSON.parse(buf.toString('utf8'));
    } catch {
      counters.malformed++;
      this.host.closeConnection(conn, CloseCode.INVALID_PAYLOAD, isBinary ? 'malformed frame: not MessagePack' : 'malformed frame: not JSON');
      return;
    }
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      counters.malformed++;
      const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : undefined;
      this.sendError(conn, 'BAD_MESSAGE', `bad message: ${formatIssues(parsed.error)}; expected subscribe, unsubscribe, resync or ping (docs/protocol.md)`, { id });
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'subscribe':
        for (const name of msg.channels) this.subscribe(conn, name, msg.recover?.[name], msg.id);
        break;
      case 'unsubscribe': {
        const done: string[] = [];
        for (const name of msg.channels) {
          if (!conn.subscriptions.delete(name)) continue;
          conn.forget(name);
          if (conn.queued) conn.dropQueued(name);
          this.host.left(conn, name);
          done.push(name);
        }
        conn.send({ type: 'unsubscribed', channels: done, id: msg.id });
        break;
      }
      case 'resync':
        if (!conn.subscriptions.has(msg.channel)) {
          this.sendError(conn, 'NOT_SUBSCRIBED', `cannot resync ${msg.channel.slice(0, 64)}: not subscribed`, { channel: msg.channel, id: msg.id });
        } else {
          this.host.snapshotDue(conn, msg.channel, msg.recover);
        }
        break;
      case 'ping':
        conn.send({ type: 'pong', id: msg.id, ts: msg.ts, serverTime: now });
        break;
      default:
        break;
    }
  }

  private subscribe(conn: Connection, name: string, from: StreamPosition | undefined, id: number | undefined): void {
    if (conn.subscriptions.has(name)) {
      this.host.snapshotDue(conn, name, from);
      return;
    }
    const channel = parseChannel(name);
    if (typeof channel === 'string') {
      this.sendError(conn, 'UNKNOWN_CHANNEL', channel, { channel: name, id });
      return;
    }
    if (channel.kind === 'user' && this.opts.authenticate === undefined) {
      // Without authentication everyone is `anonymous`: a private channel would be everyone's.
      this.sendError(conn, 'FORBIDDEN', `cannot subscribe to ${name}: private channels need an authenticated connection (the server has no authenticate hook)`, { channel: name, id });
      return;
    }
    if (conn.subscriptions.size >= this.opts.maxSubscriptions) {
      this.sendError(conn, 'SUBSCRIPTION_LIMIT', `cannot subscribe to ${name}: at most ${this.opts.maxSubscriptions} subscriptions per connection`, { channel: name, id });
      return;
    }
    conn.subscriptions.add(name);
    const done = this.opts.onSubscribe?.({ connection: conn.id, subject: (conn.principal as Principal).subject, channel: name });
    const authorize = this.opts.authorize;
    if (authorize === undefined) {
      this.granted(conn, name, from, done);
      return;
    }
    const deny = (): void => {
      done?.(false);
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
          if (conn.closing || !conn.subscriptions.has(name)) {
            done?.(false);
            return;
          }
          if (ok) this.granted(conn, name, from, done);
          else deny();
        },
        () => deny(),
      );
    } else if (verdict) {
      this.granted(conn, name, from, done);
    } else {
      deny();
    }
  }

  private granted(conn: Connection, name: string, from: StreamPosition | undefined, done: ((granted: boolean) => void) | undefined): void {
    this.host.snapshotDue(conn, name, from);
    this.host.subscribed(conn, name);
    done?.(true);
  }
}
