import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditTrail } from './auditLog.js';
import type { AuthUser, DemoUser, Role, TokenIssuer } from './auth.js';
import { hasRole } from './auth.js';
import { HttpError } from './httpErrors.js';
import { WINDOW_GRACE_MS } from './marketFeed.js';
import type { InMemoryMarketStore, MarketDataReader } from './marketStore.js';
import type { PaperBroker } from './paperBroker.js';
import type { LoginThrottle, RateLimiter } from './rateLimiter.js';
import type { Sessions } from './sessions.js';
import type { ServerConfig } from './serverConfig.js';
import type { ServerMetrics } from './serverMetrics.js';
import type { StoreBackends } from './storeBackends.js';
import type { ResponseCache } from './responseCache.js';
import type { DurableProgress } from './durableProgress.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified user of the request's bearer token, if any. */
    authUser: AuthUser | undefined;
  }
}

/** What the route modules share. */
export interface RouteContext {
  readonly config: ServerConfig;
  readonly reader: MarketDataReader;
  readonly store: InMemoryMarketStore;
  /** Settled aggregate results, 1-minute TTL: in process, shared through Redis when configured. */
  readonly cache: ResponseCache;
  /** How far the stores are complete: a range is cached only once every window up to its end (plus the grace) is durable. */
  readonly progress: DurableProgress;
  readonly tokens: TokenIssuer;
  readonly users: readonly DemoUser[];
  readonly broker: PaperBroker;
  /** The audit trail: the NDJSON journal, shipped to PostgreSQL when DATABASE_URL is set. */
  readonly audit: AuditTrail;
  readonly metrics: ServerMetrics;
  /** Server-side sessions behind the refresh tokens (memory, or Redis in full mode). */
  readonly sessions: Sessions;
  /** Guest token pairs per client address. */
  readonly guestLimiter: RateLimiter;
  /** Failed sign-ins per (user name, address) and per address. */
  readonly loginThrottle: LoginThrottle;
  readonly ready: () => boolean;
  /** Full mode: the configured stores, read in order behind circuit breakers (undefined in embedded mode). */
  readonly stores?: StoreBackends | undefined;
}

/** A preHandler that lets only users with at least `role` through (401 without a valid token, 403 with a weaker role, audited). */
export function requireRole(ctx: RouteContext, role: Role) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const user = request.authUser;
    if (user === undefined) throw new HttpError(401, 'authentication required: send Authorization: Bearer <accessToken>, from POST /api/auth/login (a user) or POST /api/auth/guest (read-only, no password)', { 'www-authenticate': 'Bearer' });
    if (!hasRole(user.role, role)) {
      ctx.audit.append({ ts: Date.now(), type: 'forbidden', user: user.username, role: user.role, needed: role, method: request.method, route: request.routeOptions.url, url: request.url.split('?')[0]!.slice(0, 200) });
      throw new HttpError(403, `forbidden: ${request.method} ${request.routeOptions.url ?? request.url} needs the ${role} role, "${user.username}" is ${user.role}`);
    }
  };
}

/** The signed-in user (after requireRole). */
export function userOf(request: FastifyRequest): AuthUser {
  return request.authUser!;
}

/**
 * Whether the stores are complete for event times before `to`: every window
 * ending by then closed (its end plus the grace passed the watermark) and
 * was made durable. Always true in embedded mode; with Kafka, what the
 * trades consumer group committed (durableProgress.ts): a lagging consumer
 * still fills a past range, and such a range must not be cached.
 */
export function durableBefore(ctx: RouteContext, to: number): boolean {
  return to + WINDOW_GRACE_MS <= ctx.progress.until();
}
