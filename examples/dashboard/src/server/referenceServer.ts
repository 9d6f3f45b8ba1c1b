import { join } from 'node:path';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import helmet from 'helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TickflowError } from '@tickflow/core';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Candle } from '@tickflow/core';
import { redisBridge, startWsServer, tokenOf } from '@tickflow/ws-server';
import { accountRoutes } from './accountRoutes.js';
import { analyticsRoutes, correlationSinks } from './analyticsRoutes.js';
import { attachCorrelationSocket } from './correlationSocket.js';
import { LiveCorrelation } from './liveCorrelation.js';
import { openAuditTrail } from './auditLog.js';
import { TokenIssuer, dataDirSecret, generatedSecret } from './auth.js';
import type { Role } from './auth.js';
import { HttpError } from './httpErrors.js';
import { livePageRoutes } from './livePageRoutes.js';
import { startKafkaFeed } from './kafkaFeed.js';
import type { FeedTargets } from './ingestEvents.js';
import { applyIngest } from './ingestEvents.js';
import { ingestWorkerScript, runningFromBuild, startIngestWorker } from './ingestThread.js';
import type { MarketFeed } from './marketFeed.js';
import { KAFKA_TIMING, LIVE_TIMING, startMarketFeed } from './marketFeed.js';
import { marketRoutes } from './marketRoutes.js';
import { InMemoryMarketStore } from './marketStore.js';
import { opsRoutes } from './opsRoutes.js';
import { PaperBroker, streamAccounts } from './paperBroker.js';
import { LoginThrottle, RateLimiter } from './rateLimiter.js';
import { Sessions } from './sessions.js';
import { documentResponses } from './openApi.js';
import { backfillDemoHistory } from './demoHistory.js';
import { loadDemoPrices, startDemoPriceSaver } from './demoPrices.js';
import { clientAddressOf, trustProxy } from './clientAddress.js';
import { GUEST_SUBJECT } from './accountRoutes.js';
import type { RouteContext } from './routeContext.js';
import type { ServerConfigInput } from './serverConfig.js';
import { parseRedisUrl, parseServerConfig, redisConnection, seconds, securityPosture } from './serverConfig.js';
import { ResponseCache } from './responseCache.js';
import { ServerMetrics } from './serverMetrics.js';
import { StoreBackends, StoresUnavailable } from './storeBackends.js';
import { userEventsRoutes } from './userEventsRoutes.js';
import { startUserEvents } from './userEventsService.js';
import type { RunningUserEvents } from './userEventsService.js';

/** A running reference server. */
export interface ReferenceServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly store: InMemoryMarketStore;
  /** Full mode: the configured stores (sink stats, read breakers); undefined in embedded mode. */
  readonly stores: StoreBackends | undefined;
  /** Graceful shutdown: stop intake, flush the window jobs, close WebSockets, HTTP and the audit log. */
  close(): Promise<void>;
}

const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Starts `tickflow serve` in embedded mode: the synthetic feed through the
 * operators into the in-process store, REST (fastify) and the WebSocket
 * server on one port.
 *
 * @example
 * ```ts
 * const server = await startReferenceServer({ port: 0, logLevel: 'silent' });
 * console.log(await (await fetch(`${server.url}/api/symbols`)).json());
 * await server.close();
 * ```
 */
export async function startReferenceServer(input: Partial<Record<keyof ServerConfigInput, unknown>> = {}, logger?: Logger): Promise<ReferenceServer> {
  const config = parseServerConfig(input);
  // OpenTelemetry only with OTEL_EXPORTER_OTLP_ENDPOINT (tracing.ts): otherwise none of it is loaded. Log lines then carry trace_id/span_id.
  const tracing = config.otlpEndpoint === undefined ? undefined : await (await import('./tracing.js')).startTracing({ endpoint: config.otlpEndpoint, serviceName: 'tickflow-serve' });
  const log = tracing === undefined ? (logger ?? pino({ level: config.logLevel })) : tracing.traceLogger(logger ?? pino({ level: config.logLevel }));
  // Production (NODE_ENV=production or a non-loopback --host) refuses demo users and a generated secret unless TICKFLOW_ALLOW_DEMO.
  const posture = securityPosture(config);
  if (posture.refuse) {
    throw new TickflowError('INVALID_ARGUMENT', `refusing to start in production (${posture.why}):\n${posture.problems.map((p) => `  ${p}`).join('\n')}\nSet TICKFLOW_ALLOW_DEMO=1 to start anyway (not for a server others can reach).`);
  }
  for (const p of posture.problems) log.warn({ production: posture.production, allowDemo: config.allowDemo }, posture.production ? `INSECURE (TICKFLOW_ALLOW_DEMO): ${p}` : `development mode: ${p}`);
  for (const n of posture.notes) log.warn(n);
  let secret = config.jwtSecret;
  if (secret === undefined) {
    const kept = await dataDirSecret(config.dataDir).catch((e: unknown) => {
      log.warn(`could not keep the development JWT secret in ${config.dataDir} (${e instanceof Error ? e.message : String(e)}): tokens stop working on restart`);
      return undefined;
    });
    secret = kept?.secret ?? generatedSecret();
    if (kept !== undefined) log.info({ file: kept.file }, kept.created ? `development JWT secret generated into ${kept.file}` : `development JWT secret read from ${kept.file}`);
  }
  const tokens = new TokenIssuer(secret, seconds(config.accessTtl), seconds(config.refreshTtl));
  const store = new InMemoryMarketStore({ bars: config.retentionBars, trades: config.retentionTrades });
  // The NDJSON journal first (fsync'd per entry), shipped to PostgreSQL's tickflow_audit when DATABASE_URL is set.
  const audit = await openAuditTrail({ path: config.auditLog, databaseUrl: config.databaseUrl, poolMax: Math.min(config.databasePoolMax, 2), warn: (m) => log.warn(m) });
  if (audit.skipped > 0) log.warn({ path: audit.path, skipped: audit.skipped }, 'audit log: skipped unreadable lines (a torn write?)');
  log.info({ store: audit.store, journal: audit.path, entries: audit.loaded.length }, audit.store === 'postgres' ? `audit trail: PostgreSQL table tickflow_audit, journal ${audit.path}` : `audit trail: NDJSON file ${audit.path}`);
  const broker = new PaperBroker(audit, config.startingCash, (s) => store.lastPrice(s));
  const limiter = new RateLimiter(config.rateLimit);
  const guestLimiter = new RateLimiter(config.guestRate / 60, config.guestRate * 2);
  const loginThrottle = new LoginThrottle();
  const trust = trustProxy(config.trustProxy);
  let closing = false;
  let stores: StoreBackends | undefined;
  let userEvents: RunningUserEvents | undefined;
  let cache: ResponseCache | undefined;
  let sessions: Sessions | undefined;
  const late: { metrics?: ServerMetrics } = {}; // the metrics need the WebSocket server, which starts after the stores
  const redisTarget = config.redisUrl === undefined ? undefined : parseRedisUrl(config.redisUrl);
  // Ingest, windows and store writes in a worker thread: HTTP and WebSocket fan-out keep this one (see ingestThread.ts).
  const inWorker = config.ingestThread === 'worker' || (config.ingestThread === 'auto' && runningFromBuild() && ingestWorkerScript() !== undefined);
  // The stores, as this thread connects them and (with the ingest worker) the worker does.
  const storeSettings = {
    clickhouseUrls: config.clickhouseUrl,
    databaseUrl: config.databaseUrl,
    redis: redisTarget,
    clickhouseMaxConnections: config.clickhouseMaxConnections,
    databasePoolMax: config.databasePoolMax,
    maxBufferedRows: 100_000,
    // A full sink is backpressure in every mode, never a drop: Kafka partitions pause, the synthetic feed slows down.
    whenFull: 'wait' as const,
  };
  try {
    stores = await StoreBackends.connect(
      {
        ...storeSettings,
        // With the ingest worker, this side only reads; the worker's own StoreBackends writes.
        writes: !inWorker,
        log: (m) => log.info(m),
        warn: (m) => log.warn(m),
        onBreaker: (name, state) => log.warn({ store: name, breaker: state }, `${name} reads: circuit breaker ${state}`),
        onWritten: (s, t, ms) => late.metrics?.sinkLatency.observe({ store: s, table: t }, ms / 1000),
      },
      store,
    );
    cache = await ResponseCache.open(60_000, redisTarget);
    sessions = await Sessions.open({ redis: redisTarget, file: redisTarget === undefined ? join(config.dataDir, 'sessions.json') : undefined });
    // User events of the page and the SDK: ring and per-minute counts; the events topic with Kafka; ClickHouse user_events (userEventsService.ts).
    userEvents = await startUserEvents({
      config,
      onCount: (type, n) => late.metrics?.userEvents.inc({ type }, n),
      onDeadLetter: (l) => {
        late.metrics?.userEventsRejected.inc();
        late.metrics?.deadLetters.inc();
        log.debug({ origin: l.origin }, `user event dead letter: ${l.reason}`);
      },
      log: (m) => log.info(m),
      warn: (m) => log.warn(m),
    });
  } catch (e) {
    await userEvents?.close();
    await cache?.close();
    await stores?.close(0);
    await audit.close();
    throw e;
  }

  const sessionsOpen = sessions!;
  sessionsOpen.onDegraded = (m) => log.warn(m);
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

  const ws = await startWsServer({
    server: app.server,
    path: '/ws',
    maxConnectionsPerSubject: config.wsMaxPerUser,
    maxConnectionsPerAddress: config.wsMaxPerAddress,
    upgradeRate: { capacity: 20, refillPerSecond: 10 },
    perMessageDeflate: config.wsDeflate,
    clientAddress: (req) => clientAddressOf(req, trust),
    // Several nodes: each publishes what it ingested, and applies what the others did (Redis pub/sub).
    bridge: redisTarget === undefined ? undefined : redisBridge({ ...redisConnection(redisTarget), onError: (e) => log.warn(e.message) }),
    authenticate: async (req) => {
      const token = tokenOf(req);
      const user = token === undefined ? undefined : await tokens.verify(token, 'access');
      if (user === undefined || !(await sessionsOpen.active(user.sid!))) return null;
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
  sessionsOpen.on('revoked', (sid) => ws.disconnect((p) => p.claims.sid === sid));
  // Each user's orders and portfolio on their private channels user:orders and user:portfolio (the page does not poll them).
  const accounts = streamAccounts(broker, (user, channel, rows) => ws.publishTo(user, channel, rows));
  const metrics = new ServerMetrics(ws);
  late.metrics = metrics;
  if (stores !== undefined) metrics.watchStores(stores);
  const ctx: RouteContext = { config, reader: store, store, cache, tokens, users: config.users, broker, audit, metrics, sessions: sessionsOpen, guestLimiter, loginThrottle, ready: () => !closing && feed !== undefined && feed.stats().stopped === undefined && (config.kafkaBrokers !== undefined || feed.stats().events > 0), stores };

  app.decorateRequest('authUser', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const token = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7).trim() : undefined;
    const verified = token === undefined || token === '' ? undefined : await tokens.verify(token, 'access');
    // An access token of an ended session (logout, revocation) stops working within the sessions' check interval (2 s).
    req.authUser = verified !== undefined && (await sessionsOpen.active(verified.sid!)) ? verified : undefined;
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

  livePageRoutes(app, ctx);
  marketRoutes(app, ctx);
  accountRoutes(app, ctx);
  userEventsRoutes(app, ctx, userEvents!);
  // Cross-asset correlation of the ingested trades on this thread (liveCorrelation.ts); full mode also writes the matrices to the stores.
  const correlation = new LiveCorrelation({ interval: config.correlationInterval, lookback: config.correlationLookback, timing: config.kafkaBrokers === undefined ? LIVE_TIMING : KAFKA_TIMING, sinks: stores === undefined ? undefined : correlationSinks(stores), warn: (m) => log.warn(m) });
  analyticsRoutes(app, ctx, correlation);
  const correlationWs = attachCorrelationSocket({
    server: app.server,
    live: correlation,
    authenticate: async (req) => {
      const token = tokenOf(req);
      const user = token === undefined ? undefined : await tokens.verify(token, 'access');
      return user !== undefined && (await sessionsOpen.active(user.sid!)) ? { role: user.role, sid: user.sid, expiresAt: user.expiresAt } : undefined;
    },
    entitled: (role) => {
      const kinds = config.wsEntitlements[role as Role] ?? [];
      return kinds.includes('*') || kinds.includes('correlation');
    },
  });
  sessionsOpen.on('revoked', (sid) => correlationWs.disconnect(sid));
  // Embedded demo: prices continue across restarts (saved in the data dir every 5 s and at close).
  const synthetic = config.kafkaBrokers === undefined;
  const startPrices = synthetic
    ? await loadDemoPrices(config.dataDir).catch((e: unknown) => {
        log.warn(`${e instanceof Error ? e.message : String(e)}; starting from the seeded prices`);
        return undefined;
      })
    : undefined;
  const priceSaver = synthetic ? startDemoPriceSaver({ dataDir: config.dataDir, initial: startPrices, onError: (e) => log.warn(e.message) }) : undefined;
  const targets: FeedTargets = {
    store,
    ws,
    metrics,
    onTrades: (b) => {
      broker.onTrades(b);
      priceSaver?.record(b);
      correlation.push(b);
    },
    onCandles: (b: readonly Candle[]) => {
      if (config.print) for (const c of b) if (c.final && c.timeframe === '1m') log.info({ candle: c }, 'final candle');
    },
    warn: (m) => log.warn(m),
  };
  const events = applyIngest(targets);
  // Embedded demo: the charts start with history (the past of the same synthetic market, ending at its live prices).
  if (config.kafkaBrokers === undefined && config.clickhouseUrl === undefined && config.databaseUrl === undefined && config.history !== '0') {
    const spanMs = seconds(config.history) * 1000;
    const h = await backfillDemoHistory(store, { symbols: config.symbols, seed: config.seed, spanMs, rate: Math.min(config.rate, 300_000 / (spanMs / 1000)), startPrices, liveRate: config.rate, volumeShape: 'intraday' });
    log.info({ trades: h.trades, candles: h.candles, ms: h.ms }, `demo history: ${config.history} backfilled (${h.trades} trades, ${h.candles} candles, ${h.ms} ms)`);
    await correlation.seedFromCandles(store);
  }
  let feed: MarketFeed;
  try {
    if (inWorker) {
      feed = await startIngestWorker({
        config: {
          feed:
            config.kafkaBrokers === undefined
              ? { kind: 'synthetic', symbols: config.symbols, rate: config.rate, seed: config.seed, startPrices }
              : { kind: 'kafka', brokers: config.kafkaBrokers, groupId: config.kafkaGroup, tradesTopic: config.kafkaTradesTopic, quotesTopic: config.kafkaQuotesTopic, dataDir: config.dataDir },
          stores:
            stores === undefined
              ? undefined
              : storeSettings,
        },
        events,
        log: (m) => log.info(m),
        showWriterStats: (s) => stores?.showWriterStats(s),
        onWritten: (s, t, ms) => metrics.sinkLatency.observe({ store: s, table: t }, ms / 1000),
      });
    } else {
      feed =
        config.kafkaBrokers === undefined
          ? startMarketFeed({ events, outputs: stores, symbols: config.symbols, rate: config.rate, seed: config.seed, startPrices })
          : await startKafkaFeed({
              events,
              outputs: stores,
              brokers: config.kafkaBrokers,
              groupId: config.kafkaGroup,
              tradesTopic: config.kafkaTradesTopic,
              quotesTopic: config.kafkaQuotesTopic,
              durable: () => stores?.flush() ?? Promise.resolve(),
              checkpoints: stores?.checkpoints,
              dataDir: config.dataDir,
              log: (m) => log.info(m),
            });
    }
  } catch (e) {
    await correlationWs.close();
    await correlation.stop(0);
    await ws.close();
    await app.close();
    await userEvents!.close();
    await stores?.close(0);
    await cache.close();
    await sessionsOpen.close();
    await audit.close();
    throw e;
  }
  const lagTimer =
    feed.kafka === undefined
      ? undefined
      : setInterval(() => {
          metrics.consumerLag.set({ topic: config.kafkaTradesTopic, partition: 'all' }, feed.kafka!().lag);
          metrics.consumerLag.set({ topic: config.kafkaQuotesTopic, partition: 'all' }, feed.quotesLag?.() ?? 0);
        }, 1_000);
  lagTimer?.unref();
  opsRoutes(app, ctx, () => ({ ...feed.stats(), ingestThread: inWorker ? 'worker' : 'main' }), feed.kafka);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    await feed.stop();
    await correlationWs.close();
    await correlation.stop(0);
    await ws.close();
    await userEvents!.close();
    await stores?.close();
    await sessionsOpen.close();
    await audit.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  const marketData = stores === undefined ? 'in-process store' : `reads: ${stores.order.join(' → ')}; writes: ${stores.order.filter((x) => x !== 'memory').join(', ')} sinks and the in-process store`;
  log.info({ url, mode: stores === undefined ? 'embedded' : 'full', marketData, cache: 'in-process (60 s TTL)', audit: audit.store === 'postgres' ? `postgres (journal ${audit.path})` : audit.path, ws: `${url.replace('http', 'ws')}/ws` }, `tickflow serve: live dashboard on ${url}`);

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    store,
    stores,
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(lagTimer);
        accounts.stop();
        await feed.stop();
        await priceSaver?.close();
        await correlationWs.close();
        await correlation.stop();
        await ws.close();
        await app.close();
        await userEvents!.close();
        await stores?.close();
        await cache.close();
        await sessionsOpen.close();
        await audit.close();
        await tracing?.shutdown();
      })();
      return closed;
    },
  };
}
