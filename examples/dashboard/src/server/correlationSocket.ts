import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { CorrelationMatrix } from '@tickflow/windowing';
import type { LiveCorrelation } from './liveCorrelation.js';
import { correlationAnswer } from './liveCorrelation.js';
import { MAX_CORRELATION_SYMBOLS } from './analyticsRoutes.js';

/** Path of the correlation channel. */
export const CORRELATION_WS_PATH = '/ws/correlation';

/** Options of attachCorrelationSocket. */
export interface CorrelationSocketOptions {
  readonly server: Server;
  readonly live: LiveCorrelation;
  /** The verified user of an upgrade request (the same check as /ws: a valid access token of an active session), undefined to refuse it with 401. */
  readonly authenticate: (req: IncomingMessage) => Promise<CorrelationViewer | undefined>;
  /** Whether a role may receive the correlation channel (TICKFLOW_WS_ENTITLEMENTS kind `correlation`). */
  readonly entitled: (role: string) => boolean;
  /** Open connections at most (more get 503). Default 1000. */
  readonly maxConnections?: number;
}

/** Who is connected: the role decides the entitlement, the session and the token's expiry end the connection (as on /ws). */
export interface CorrelationViewer {
  readonly role: string;
  readonly sid?: string | undefined;
  /** Epoch ms: the connection closes with 4001 then. */
  readonly expiresAt?: number | undefined;
}

/** A running correlation channel. */
export interface CorrelationSocket {
  readonly connections: () => number;
  /** Closes the connections of a session that ended (4002, as ws-server's SESSION_REVOKED). */
  disconnect(sid: string): void;
  close(): Promise<void>;
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

/**
 * The correlation channel, `GET /ws/correlation?token=…&symbols=A,B` upgraded
 * to a WebSocket: a JSON text frame `{ "type": "correlation", …matrix }`
 * (the shape of `GET /api/correlation`) with the latest matrix on connect
 * and again each time a return interval closes. The channel set of
 * @tickflow/ws-server's `/ws` is fixed (trades, quotes, candles, profile,
 * ticker) and a matrix is none of them, so this endpoint shares the HTTP
 * server beside it (ws-server leaves other paths to other upgrade handlers).
 * Each connection may name up to 50 symbols; without `symbols` it gets the
 * first 50 of the matrix.
 */
export function attachCorrelationSocket(o: CorrelationSocketOptions): CorrelationSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const wanted = new Map<WebSocket, string[] | undefined>();
  const sessions = new Map<WebSocket, string | undefined>();
  const max = o.maxConnections ?? 1000;

  const frameFor = (m: CorrelationMatrix, symbols: string[] | undefined): string => JSON.stringify({ type: 'correlation', ...correlationAnswer(m, symbols ?? m.symbols.slice(0, MAX_CORRELATION_SYMBOLS)) });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      reject(socket, 400, 'Bad Request');
      return;
    }
    if (url.pathname !== CORRELATION_WS_PATH) {
      // ws-server owns /ws and leaves unknown paths to the other handlers: answer them when no third handler may own them.
      if (url.pathname !== '/ws' && o.server.listenerCount('upgrade') <= 2) reject(socket, 404, 'Not Found');
      return;
    }
    const list = url.searchParams.get('symbols');
    const symbols = list === null ? undefined : [...new Set(list.split(',').map((s) => s.trim()).filter((s) => /^[\x21-\x7e]{1,32}$/.test(s)))];
    if (symbols !== undefined && (symbols.length === 0 || symbols.length > MAX_CORRELATION_SYMBOLS)) {
      reject(socket, 400, 'Bad Request');
      return;
    }
    if (wanted.size >= max) {
      reject(socket, 503, 'Service Unavailable');
      return;
    }
    socket.on('error', () => socket.destroy());
    o.authenticate(req).then(
      (user) => {
        if (socket.destroyed) return;
        if (user === undefined) return reject(socket, 401, 'Unauthorized');
        if (!o.entitled(user.role)) return reject(socket, 403, 'Forbidden');
        wss.handleUpgrade(req, socket, head, (ws) => {
          wanted.set(ws, symbols);
          sessions.set(ws, user.sid);
          const expiry = user.expiresAt === undefined ? undefined : setTimeout(() => ws.close(4001, 'token expired: reconnect with a fresh token'), Math.max(0, user.expiresAt - Date.now()));
          expiry?.unref();
          ws.on('close', () => {
            wanted.delete(ws);
            sessions.delete(ws);
            clearTimeout(expiry);
          });
          ws.on('error', () => ws.terminate());
          // Nothing to receive: a client frame is ignored (pings are answered by ws itself).
          const latest = o.live.latest;
          if (latest !== undefined) ws.send(frameFor(latest, symbols));
        });
        return undefined;
      },
      () => reject(socket, 500, 'Internal Server Error'),
    );
  };
  o.server.on('upgrade', onUpgrade);

  const off = o.live.onMatrix((m) => {
    // One encoding per distinct symbol list.
    const frames = new Map<string, string>();
    for (const [ws, symbols] of wanted) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      // A client that lets frames pile up gets no more until it reads (a matrix replaces the last one anyway).
      if (ws.bufferedAmount > 1 << 20) continue;
      const k = symbols?.join(',') ?? '*';
      let f = frames.get(k);
      if (f === undefined) {
        f = frameFor(m, symbols);
        frames.set(k, f);
      }
      ws.send(f);
    }
  });

  return {
    connections: () => wanted.size,
    disconnect(sid) {
      for (const [ws, s] of sessions) if (s === sid) ws.close(4002, 'session ended');
    },
    async close() {
      off();
      o.server.off('upgrade', onUpgrade);
      for (const ws of wanted.keys()) ws.close(1001, 'server shutting down');
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
