import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { TickflowError } from '@tickflow/core';
import { JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL } from '../protocol.js';
import type { AuthenticateHook, Principal, ResolvedWsServerOptions, WsServerStats } from '../wsServerOptions.js';
import { KeyedLimiter } from './keyedLimiter.js';
import type { DeflateSettings } from './wireCodec.js';

/** Everyone, without an authenticate hook. */
export const ANONYMOUS: Principal = { subject: 'anonymous', claims: {} };

/** What the gate needs from its server. */
export interface UpgradeGateHost {
  isClosing(): boolean;
  connectionCount(): number;
  readonly counters: WsServerStats;
  error(error: TickflowError): void;
  /** Completes the WebSocket handshake of an admitted request. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void;
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/**
 * Admits or refuses upgrade requests before any WebSocket exists: the path,
 * shutdown, the connection cap (503), the per-address upgrade rate and
 * connection cap (429), the authenticate hook (401) and the per-subject cap
 * (429). Admitted requests go to `host.accept` with their principal.
 */
export class UpgradeGate {
  private readonly byAddress = new Map<string, number>();
  private readonly bySubject = new Map<string, number>();
  private readonly limiter: KeyedLimiter | undefined;

  constructor(
    private readonly opts: ResolvedWsServerOptions,
    private readonly http: HttpServer,
    private readonly host: UpgradeGateHost,
  ) {
    this.limiter = opts.upgradeRate === undefined ? undefined : new KeyedLimiter(opts.upgradeRate.capacity, opts.upgradeRate.refillPerSecond);
  }

  /** The http server's `upgrade` listener. */
  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
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
    const counters = this.host.counters;
    if (this.host.isClosing()) {
      rejectUpgrade(socket, 503, 'server shutting down');
      return;
    }
    if (this.host.connectionCount() >= this.opts.maxConnections) {
      counters.rejectedUpgrades++;
      rejectUpgrade(socket, 503, 'too many connections');
      return;
    }
    let address: string;
    try {
      address = this.opts.clientAddress?.(req) ?? req.socket.remoteAddress ?? 'unknown';
    } catch {
      address = req.socket.remoteAddress ?? 'unknown';
    }
    if (this.limiter !== undefined) {
      const wait = this.limiter.take(address, Date.now());
      if (wait > 0) {
        counters.rejectedUpgrades++;
        counters.limitedUpgrades++;
        rejectUpgrade(socket, 429, `too many connection attempts from this address: retry after ${wait} s`, { 'Retry-After': String(wait) });
        return;
      }
    }
    const perAddress = this.opts.maxConnectionsPerAddress;
    if (perAddress !== undefined && (this.byAddress.get(address) ?? 0) >= perAddress) {
      counters.rejectedUpgrades++;
      counters.limitedUpgrades++;
      rejectUpgrade(socket, 429, `too many connections from this address: at most ${perAddress}`);
      return;
    }
    // Counted from now until the socket closes (whether it became a WebSocket or not), so parallel upgrades cannot pass the cap.
    count(this.byAddress, address, socket);
    const hook = this.opts.authenticate;
    if (hook === undefined) {
      this.host.accept(req, socket, head, ANONYMOUS);
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
    const counters = this.host.counters;
    if (!principal) {
      counters.rejectedUpgrades++;
      rejectUpgrade(socket, 401, 'unauthorized: a valid token is required (Authorization: Bearer <jwt> or ?token=<jwt>)');
      return;
    }
    if (this.host.isClosing()) {
      rejectUpgrade(socket, 503, 'server shutting down');
      return;
    }
    const perSubject = this.opts.maxConnectionsPerSubject;
    if ((this.bySubject.get(principal.subject) ?? 0) >= perSubject) {
      counters.rejectedUpgrades++;
      counters.limitedUpgrades++;
      rejectUpgrade(socket, 429, `too many connections for this user: at most ${perSubject}`);
      return;
    }
    count(this.bySubject, principal.subject, socket);
    this.host.accept(req, socket, head, principal);
  }

  private authFailed(socket: Duplex, e: unknown): void {
    this.host.counters.rejectedUpgrades++;
    this.host.error(new TickflowError('INTERNAL', `authenticate hook threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
    rejectUpgrade(socket, 401, 'unauthorized');
  }
}

/** Counts a socket under `key` until it closes. */
function count(map: Map<string, number>, key: string, socket: Duplex): void {
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

/** The `ws` server that completes admitted handshakes, with what each negotiated. */
export interface Handshake {
  readonly wss: WebSocketServer;
  /** Frame compression settings, undefined when permessage-deflate is off. */
  readonly deflate: DeflateSettings | undefined;
  /** The Sec-WebSocket-Extensions answer per request (the negotiated permessage-deflate parameters). */
  readonly negotiated: WeakMap<IncomingMessage, string>;
}

/** Creates the handshake side: subprotocol choice (JSON when offered, else MessagePack), payload limit, permessage-deflate negotiation. */
export function createHandshake(opts: ResolvedWsServerOptions): Handshake {
  const deflate = opts.perMessageDeflate === true ? { threshold: 256, level: 1, windowBits: 15, memLevel: 8 } : opts.perMessageDeflate;
  const wss = new WebSocketServer({
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
  const negotiated = new WeakMap<IncomingMessage, string>();
  // The negotiated permessage-deflate parameters are only in the 101 answer (ws.extensions names the extension alone).
  wss.on('headers', (headers, req) => {
    for (const h of headers) if (h.toLowerCase().startsWith('sec-websocket-extensions:')) negotiated.set(req, h.slice(25));
  });
  return { wss, deflate: deflate === false ? undefined : deflate, negotiated };
}
