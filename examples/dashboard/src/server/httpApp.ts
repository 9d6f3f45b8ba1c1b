import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import helmet from 'helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { GUEST_SUBJECT } from './accountRoutes.js';
import type { TokenIssuer } from './auth.js';
import type { TrustProxy } from './clientAddress.js';
import { HttpError } from './httpErrors.js';
import { documentResponses } from './openApi.js';
import { RateLimiter } from './rateLimiter.js';
import type { ServerConfig } from './serverConfig.js';
import type { ServerMetrics } from './serverMetrics.js';
import type { Sessions } from './sessions.js';
import { StoresUnavailable } from './storeBackends.js';
import type { Tracing } from './tracing.js';

/** Paths the rate limit never applies to (probes and scrapes). */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** Options of createHttpApp. */
export interface HttpAppOptions {
  readonly log: Logger;
  /** fastify's `trustProxy` (clientAddress.ts). */
  readonly trust: TrustProxy;
  readonly tracing: Tracing | undefined;
}

/**
 * The fastify app before its routes: request spans (with tracing), security
 * headers (helmet), the OpenAPI document at /api/openapi.json and Swagger UI
 * at /api/docs.
 */
export async function createHttpApp({ log, trust, tracing }: HttpAppOptions): Promise<FastifyInstance> {
  // bodyLimit: every JSON body of the API is small (an order, a login); 64 KiB bounds parsing work and memory per request.
  // Requests are logged at debug (one line each, in onResponse), not fastify's two info lines per request.
  const app: FastifyInstance = Fastify({ loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), forceCloseConnections: true, trustProxy: trust, bodyLimit: 64 * 1024 });
  // One span per HTTP request (@fastify/otel), registered before every other hook and route.
  if (tracing !== undefined) await app.register(tracing.fastifyPlugin);
  // helmet's middleware on every answer (what @fastify/helmet does; used directly because that plugin's require('helmet') gets the ESM build under the test runner's import condition).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
  });
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (e?: unknown) => done(e as Error | undefined)));
  // Swagger UI (/api/docs) styles inline and draws data: images.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/api/docs')) void reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'");
    return payload;
  });
  // zod validates in the handlers (clear messages); the route schemas only document the API.
  app.setValidatorCompiler(() => () => true);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'tickflow reference server', version: '0.1.0', description: 'Embedded mode: synthetic feed, in-process store. WebSocket: /ws (see docs/protocol.md).' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  // Interactive docs (Swagger UI) at /api/docs; the document at /api/openapi.json.
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { url: '/api/openapi.json', persistAuthorization: false } as never, staticCSP: false });
  documentResponses(app);
  return app;
}

/** Options of installRequestHooks. */
export interface RequestHookOptions {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly tokens: TokenIssuer;
  readonly sessions: Sessions;
  readonly metrics: ServerMetrics;
}

/**
 * The per-request hooks: the bearer token's user (`req.authUser`, only while
 * its session is active), the rate limit (429 with retry-after), the request
 * log line and latency metric, the error handler (HttpError's status, 400 for
 * an unparsable body, 500 logged) and the 404 answer.
 */
export function installRequestHooks(app: FastifyInstance, { config, log, tokens, sessions, metrics }: RequestHookOptions): void {
  const limiter = new RateLimiter(config.rateLimit);
  app.decorateRequest('authUser', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const token = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7).trim() : undefined;
    const verified = token === undefined || token === '' ? undefined : await tokens.verify(token, 'access');
    // An access token of an ended session (logout, revocation) stops working within the sessions' check interval (2 s).
    req.authUser = verified !== undefined && (await sessions.active(verified.sid!)) ? verified : undefined;
    if (UNLIMITED.has(req.url.split('?')[0]!)) return;
    // Anonymous and guest requests share one bucket per address: fresh guest tokens do not multiply the limit.
    const user = req.authUser;
    const wait = limiter.take(user === undefined || GUEST_SUBJECT.test(user.username) ? `ip:${req.ip}` : `user:${user.username}`);
    if (wait > 0) {
      metrics.rateLimited.inc();
      return reply.status(429).header('retry-after', String(wait)).send({ error: `rate limit exceeded (${config.rateLimit} requests/s): retry after ${wait} s` });
    }
    return undefined;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (log.isLevelEnabled('debug')) req.log.debug({ method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    metrics.http.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((e: FastifyError | HttpError, _req, reply) => {
    if (e instanceof StoresUnavailable) metrics.unavailable.inc();
    if (e instanceof HttpError) return reply.status(e.status).headers(e.headers).send({ error: e.message });
    // A body the JSON parser cannot take (too deeply nested: RangeError) is the client's fault: 400, no error log.
    if ((e instanceof RangeError || e instanceof SyntaxError) && typeof (e as FastifyError).statusCode !== 'number') return reply.status(400).send({ error: 'invalid JSON body (malformed or nested too deeply)' });
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) log.error({ err: e }, 'request failed');
    return reply.status(status).send({ error: status === 500 ? 'internal error' : String(e.message).slice(0, 300) });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
}
