// Options of the client SDK, validated by hand: the browser bundle carries no
// schema library (zod alone was 80 % of it). The server side keeps zod.
import { TickflowError } from '@tickflow/core';
import type { WireFormat } from '../protocol.js';

/** A WebSocket constructor: the browser's, React Native's, or `ws`'s in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/** Reconnect backoff (all durations in ms). */
export interface ReconnectOptions {
  /** First delay. Default 250 ms. */
  readonly initialDelay?: number;
  /** Longest delay. Default 10 s. */
  readonly maxDelay?: number;
  /** Growth per attempt (≥ 1). Default 2. */
  readonly factor?: number;
  /** Fraction of the delay that is random (0–1). Default 0.5. */
  readonly jitter?: number;
}

/**
 * Options of createClient (durations in ms).
 *
 * @example
 * ```ts
 * const options: ClientOptions = { url: 'ws://127.0.0.1:8080/ws', format: 'json' };
 * ```
 */
export interface ClientOptions {
  /** `ws://host:port/ws` of the server. */
  readonly url: string;
  /** A token, or a function returning one (called before every connect, so reconnects get fresh tokens). Sent as the `tokenParam` query parameter. */
  readonly token?: string | (() => string | Promise<string>) | undefined;
  /**
   * Gets a new token when the last one may have been refused: the socket
   * closed before it opened (a server answers a refused token with HTTP 401
   * at the upgrade, which browsers do not expose) or with TOKEN_EXPIRED
   * (4001) or SESSION_REVOKED (4002 from the server). Called instead of
   * `token` for the next attempt (e.g. refresh the session, or sign in
   * again); when it throws, an `error` with code `AUTH` and its message is
   * emitted and the attempt is retried with backoff. Without it, `token` is
   * called again.
   */
  readonly reauthenticate?: (() => string | Promise<string>) | undefined;
  /** Query parameter carrying the token. Default `token`. */
  readonly tokenParam?: string | undefined;
  /** Wire format: MessagePack (default) or JSON. */
  readonly format?: WireFormat | undefined;
  /** WebSocket constructor. Default `globalThis.WebSocket` (pass `ws`'s WebSocket in Node 20). */
  readonly WebSocket?: WebSocketConstructor | undefined;
  /** How often the UI gets one batch of changes. Default 100 ms. */
  readonly batchInterval?: number | undefined;
  /** Reconnect with exponential backoff and jitter; `false` to stay closed. */
  readonly reconnect?: false | ReconnectOptions | undefined;
  /** Application ping interval; no message for `pingInterval + pongTimeout` means the connection is dead. Default 15 s. */
  readonly pingInterval?: number | undefined;
  /** Default 10 s. */
  readonly pongTimeout?: number | undefined;
}

/** Options after validation, with defaults. */
export interface ResolvedClientOptions {
  readonly url: string;
  readonly token: string | (() => string | Promise<string>) | undefined;
  readonly reauthenticate: (() => string | Promise<string>) | undefined;
  readonly tokenParam: string;
  readonly format: WireFormat;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly batchInterval: number;
  readonly reconnect: false | Required<ReconnectOptions>;
  readonly pingInterval: number;
  readonly pongTimeout: number;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'function') return 'a function';
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** Collects problems as `path: what was expected (got …)`, in the style of formatIssues on the server. */
class Problems {
  readonly list: string[] = [];

  add(path: string, expected: string, got: unknown): void {
    this.list.push(`${path}: expected ${expected} (got ${show(got)})`);
  }

  /** A whole number of ms ≥ `min`, or the default when absent. */
  ms(o: Record<string, unknown>, key: string, path: string, fallback: number, min = 0): number {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.add(path, `a whole number of ms ≥ ${min}`, v);
    return v as number;
  }

  /** A number in [min, max], or the default when absent. */
  number(o: Record<string, unknown>, key: string, path: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY): number {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= min && v <= max)) this.add(path, max === Number.POSITIVE_INFINITY ? `a number ≥ ${min}` : `a number from ${min} to ${max}`, v);
    return v as number;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates createClient's options and fills in the defaults; throws a
 * TickflowError (INVALID_ARGUMENT) naming every bad option.
 *
 * @example
 * ```ts
 * const o = parseClientOptions({ url: 'ws://127.0.0.1:8080/ws' });
 * o.batchInterval; // 100
 * ```
 */
export function parseClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (!isRecord(options)) throw new TickflowError('INVALID_ARGUMENT', `invalid client options: expected an object (got ${show(options)})`);
  const o = options as unknown as Record<string, unknown>;
  const p = new Problems();
  if (typeof o.url !== 'string' || o.url === '') p.add('url', 'a non-empty string', o.url);
  if (o.token !== undefined && typeof o.token !== 'string' && typeof o.token !== 'function') p.add('token', 'a string or a function', o.token);
  if (o.reauthenticate !== undefined && typeof o.reauthenticate !== 'function') p.add('reauthenticate', 'a function', o.reauthenticate);
  if (o.tokenParam !== undefined && (typeof o.tokenParam !== 'string' || o.tokenParam === '')) p.add('tokenParam', 'a non-empty string', o.tokenParam);
  if (o.format !== undefined && o.format !== 'msgpack' && o.format !== 'json') p.add('format', '"msgpack" or "json"', o.format);
  if (o.WebSocket !== undefined && typeof o.WebSocket !== 'function') p.list.push(`WebSocket: WebSocket must be a constructor (got ${show(o.WebSocket)})`);
  const batchInterval = p.ms(o, 'batchInterval', 'batchInterval', 100, 1);
  const pingInterval = p.ms(o, 'pingInterval', 'pingInterval', 15_000, 1);
  const pongTimeout = p.ms(o, 'pongTimeout', 'pongTimeout', 10_000, 1);
  let reconnect: ResolvedClientOptions['reconnect'] = { initialDelay: 250, maxDelay: 10_000, factor: 2, jitter: 0.5 };
  const r = o.reconnect;
  if (r === false) reconnect = false;
  else if (r !== undefined) {
    if (!isRecord(r)) p.add('reconnect', 'false or an object', r);
    else {
      reconnect = {
        initialDelay: p.ms(r, 'initialDelay', 'reconnect.initialDelay', 250),
        maxDelay: p.ms(r, 'maxDelay', 'reconnect.maxDelay', 10_000),
        factor: p.number(r, 'factor', 'reconnect.factor', 2, 1),
        jitter: p.number(r, 'jitter', 'reconnect.jitter', 0.5, 0, 1),
      };
    }
  }
  if (p.list.length > 0) throw new TickflowError('INVALID_ARGUMENT', `invalid client options: ${p.list.join('; ')}`);
  return {
    url: o.url as string,
    token: o.token as ResolvedClientOptions['token'],
    reauthenticate: o.reauthenticate as ResolvedClientOptions['reauthenticate'],
    tokenParam: (o.tokenParam as string | undefined) ?? 'token',
    format: (o.format as WireFormat | undefined) ?? 'msgpack',
    WebSocket: o.WebSocket as WebSocketConstructor | undefined,
    batchInterval,
    reconnect,
    pingInterval,
    pongTimeout,
  };
}
