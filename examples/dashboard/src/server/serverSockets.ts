import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { redisBridge, startWsServer, tokenOf } from '@tickflow/ws-server';
import type { WsServer } from '@tickflow/ws-server';
import type { Role, TokenIssuer } from './auth.js';
import { clientAddressOf } from './clientAddress.js';
import type { TrustProxy } from './clientAddress.js';
import { attachCorrelationSocket } from './correlationSocket.js';
import type { CorrelationSocket } from './correlationSocket.js';
import type { LiveCorrelation } from './liveCorrelation.js';
import type { RedisTarget, ServerConfig } from './serverConfig.js';
import { redisConnection } from './serverConfig.js';
import type { Sessions } from './sessions.js';
import type { Tracing } from './tracing.js';

/** Options of startMarketSocket. */
export interface MarketSocketOptions {
  /** The HTTP server whose upgrades to /ws it takes. */
  readonly server: Server;
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly trust: TrustProxy;
  /** Several nodes share what they ingest over Redis pub/sub when set. */
  readonly redis: RedisTarget | undefined;
  readonly tokens: TokenIssuer;
  readonly sessions: Sessions;
  readonly tracing: Tracing | undefined;
}

/**
 * The market-data WebSocket server at /ws: connection limits, a valid access
 * token of an active session, the role's entitlements per channel kind; its
 * connections of a session that ends (on any node) close at once.
 */
export async function startMarketSocket({ server, config, log, trust, redis, tokens, sessions, tracing }: MarketSocketOptions): Promise<WsServer> {
  const ws = await startWsServer({
    server,
    path: '/ws',
    maxConnectionsPerSubject: config.wsMaxPerUser,
    maxConnectionsPerAddress: config.wsMaxPerAddress,
    upgradeRate: { capacity: 20, refillPerSecond: 10 },
    perMessageDeflate: config.wsDeflate,
    clientAddress: (req) => clientAddressOf(req, trust),
    // Several nodes: each publishes what it ingested, and applies what the others did (Redis pub/sub).
    bridge: redis === undefined ? undefined : redisBridge({ ...redisConnection(redis), onError: (e) => log.warn(e.message) }),
    authenticate: async (req) => {
      const token = tokenOf(req);
      const user = token === undefined ? undefined : await tokens.verify(token, 'access');
      if (user === undefined || !(await sessions.active(user.sid!))) return null;
      return { subject: user.username, claims: { role: user.role, sid: user.sid }, expiresAt: user.expiresAt };
    },
    // Entitlements: which channel kinds each role may subscribe to (TICKFLOW_WS_ENTITLEMENTS).
    authorize: (principal, channel) => {
      const kinds = config.wsEntitlements[principal.claims?.role as Role] ?? [];
      // A private user:TOPIC channel is always the caller's own (resolved per user by the server): every role may have it.
      return channel.kind === 'user' || kinds.includes('*') || kinds.includes(channel.kind);
    },
    // With tracing, one `ws subscribe` span per subscribe, ended with the decision.
    onSubscribe: tracing?.wsSubscribe,
  });
  // A session ended on any node (logout, revocation, refresh-token reuse): its WebSockets here close now.
  sessions.on('revoked', (sid) => ws.disconnect((p) => p.claims.sid === sid));
  return ws;
}

/** Options of startCorrelationSocket. */
export interface CorrelationSocketStartOptions {
  readonly server: Server;
  readonly config: ServerConfig;
  readonly live: LiveCorrelation;
  readonly tokens: TokenIssuer;
  readonly sessions: Sessions;
}

/**
 * The correlation channel's WebSocket (correlationSocket.ts), with the same
 * check as /ws and the `correlation` entitlement; a session that ends closes
 * its connections.
 */
export function startCorrelationSocket({ server, config, live, tokens, sessions }: CorrelationSocketStartOptions): CorrelationSocket {
  const correlationWs = attachCorrelationSocket({
    server,
    live,
    authenticate: async (req) => {
      const token = tokenOf(req);
      const user = token === undefined ? undefined : await tokens.verify(token, 'access');
      return user !== undefined && (await sessions.active(user.sid!)) ? { role: user.role, sid: user.sid, expiresAt: user.expiresAt } : undefined;
    },
    entitled: (role) => {
      const kinds = config.wsEntitlements[role as Role] ?? [];
      return kinds.includes('*') || kinds.includes('correlation');
    },
  });
  sessions.on('revoked', (sid) => correlationWs.disconnect(sid));
  return correlationWs;
}
