import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { accountRoutes } from './accountRoutes.js';
import { streamAccounts } from './accountStream.js';
import { analyticsRoutes, correlationSinks } from './analyticsRoutes.js';
import type { AuditTrail } from './auditLog.js';
import { trustProxy } from './clientAddress.js';
import { createHttpApp, installRequestHooks } from './httpApp.js';
import { LiveCorrelation } from './liveCorrelation.js';
import { livePageRoutes } from './livePageRoutes.js';
import type { MarketFeed } from './marketFeed.js';
import { KAFKA_TIMING, LIVE_TIMING } from './marketFeed.js';
import { marketRoutes } from './marketRoutes.js';
import { InMemoryMarketStore } from './marketStore.js';
import { opsRoutes } from './opsRoutes.js';
import { PaperBroker } from './paperBroker.js';
import { LoginThrottle, RateLimiter } from './rateLimiter.js';
import type { RouteContext } from './routeContext.js';
import { openBackends, openServerAudit, storeSettingsOf } from './serverBackends.js';
import type { LateMetrics } from './serverBackends.js';
import type { ServerConfig, ServerConfigInput } from './serverConfig.js';
import { parseRedisUrl, parseServerConfig } from './serverConfig.js';
import { backfillDemo, ingestInWorker, servingEvents, startDemoPrices, startIngest, watchConsumerLag } from './serverIngest.js';
import { startLogging } from './serverLogging.js';
import { ServerMetrics } from './serverMetrics.js';
import { checkSecurityPosture, openTokenIssuer } from './serverSecurity.js';
import { closeAfterIngestFailed, closeServer } from './serverShutdown.js';
import { startCorrelationSocket, startMarketSocket } from './serverSockets.js';
import type { StoreBackends } from './storeBackends.js';
import { userEventsRoutes } from './userEventsRoutes.js';

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
  const { log, tracing } = await startLogging(config, logger);
  checkSecurityPosture(config, log);
  const tokens = await openTokenIssuer(config, log);
  const store = new InMemoryMarketStore({ bars: config.retentionBars, trades: config.retentionTrades });
  const audit = await openServerAudit(config, log);
  const broker = new PaperBroker(audit, config.startingCash, (s) => store.lastPrice(s));
  const trust = trustProxy(config.trustProxy);
  const late: LateMetrics = {};
  const redis = config.redisUrl === undefined ? undefined : parseRedisUrl(config.redisUrl);
  const inWorker = ingestInWorker(config);
  const storeSettings = storeSettingsOf(config, redis);
  const { stores, cache, progress, sessions, userEvents } = await openBackends({ config, log, store, audit, redis, storeSettings, inWorker, late });
  sessions.onDegraded = (m) => log.warn(m);

  const app = await createHttpApp({ log, trust, tracing });
  const ws = await startMarketSocket({ server: app.server, config, log, trust, redis, tokens, sessions, tracing });
  // Each user's orders and portfolio on their private channels user:orders and user:portfolio (the page does not poll them).
  const accounts = streamAccounts(broker, (user, channel, rows) => ws.publishTo(user, channel, rows));
  const metrics = new ServerMetrics(ws);
  late.metrics = metrics;
  if (stores !== undefined) metrics.watchStores(stores);
  const live: { closing: boolean; feed?: MarketFeed } = { closing: false };
  const ctx: RouteContext = { config, reader: store, store, cache, progress, tokens, users: config.users, broker, audit, metrics, sessions, guestLimiter: new RateLimiter(config.guestRate / 60, config.guestRate * 2), loginThrottle: new LoginThrottle(), ready: () => isReady(live, config), stores };
  installRequestHooks(app, { config, log, tokens, sessions, metrics });
  livePageRoutes(app, ctx);
  marketRoutes(app, ctx);
  accountRoutes(app, ctx);
  userEventsRoutes(app, ctx, userEvents);
  // Cross-asset correlation of the ingested trades on this thread (liveCorrelation.ts); full mode also writes the matrices to the stores.
  const correlation = new LiveCorrelation({ interval: config.correlationInterval, lookback: config.correlationLookback, timing: config.kafkaBrokers === undefined ? LIVE_TIMING : KAFKA_TIMING, sinks: stores === undefined ? undefined : correlationSinks(stores), warn: (m) => log.warn(m) });
  analyticsRoutes(app, ctx, correlation);
  const correlationWs = startCorrelationSocket({ server: app.server, config, live: correlation, tokens, sessions });
  const parts = { correlationWs, correlation, ws, app, userEvents, stores, cache, progress, sessions, audit };

  const { startPrices, priceSaver } = await startDemoPrices(config, log);
  const events = servingEvents({ config, log, store, ws, metrics, broker, priceSaver, correlation });
  await backfillDemo({ config, log, store, correlation, startPrices });
  let feed: MarketFeed;
  try {
    feed = await startIngest({ config, log, inWorker, events, stores, storeSettings, metrics, startPrices });
  } catch (e) {
    await closeAfterIngestFailed({ ...parts, accounts, priceSaver, tracing });
    throw e;
  }
  live.feed = feed;
  const lagTimer = watchConsumerLag(feed, metrics, config);
  opsRoutes(app, ctx, () => ({ ...feed.stats(), ingestThread: inWorker ? 'worker' : 'main' }), feed.kafka);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    // The port is taken, say: everything started so far shuts down as on close().
    await closeServer({ ...parts, feed, lagTimer, accounts, priceSaver, tracing });
    throw e;
  }
  const { url, port } = announce(app, config, { log, stores, audit });

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    store,
    stores,
    close() {
      closed ??= (async () => {
        live.closing = true;
        await closeServer({ ...parts, feed, lagTimer, accounts, priceSaver, tracing });
      })();
      return closed;
    },
  };
}

/** Ready: not closing, the feed running, and (synthetic feed) events seen. */
function isReady(live: { readonly closing: boolean; readonly feed?: MarketFeed | undefined }, config: ServerConfig): boolean {
  const feed = live.feed;
  return !live.closing && feed !== undefined && feed.stats().stopped === undefined && (config.kafkaBrokers !== undefined || feed.stats().events > 0);
}

/** The address the server listens on, logged with the mode, the stores and the audit trail. */
function announce(app: FastifyInstance, config: ServerConfig, o: { readonly log: Logger; readonly stores: StoreBackends | undefined; readonly audit: AuditTrail }): { url: string; port: number } {
  const { log, stores, audit } = o;
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  const marketData = stores === undefined ? 'in-process store' : `reads: ${stores.order.join(' → ')}; writes: ${stores.order.filter((x) => x !== 'memory').join(', ')} sinks and the in-process store`;
  log.info({ url, mode: stores === undefined ? 'embedded' : 'full', marketData, cache: 'in-process (60 s TTL)', audit: audit.store === 'postgres' ? `postgres (journal ${audit.path})` : audit.path, ws: `${url.replace('http', 'ws')}/ws` }, `tickflow serve: live dashboard on ${url}`);
  return { url, port };
}
