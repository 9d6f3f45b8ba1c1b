import type { FastifyInstance } from 'fastify';
import type { WsServer } from '@tickflow/ws-server';
import type { AuditTrail } from './auditLog.js';
import type { CorrelationSocket } from './correlationSocket.js';
import type { DemoPriceSaver } from './demoPrices.js';
import type { LiveCorrelation } from './liveCorrelation.js';
import type { MarketFeed } from './marketFeed.js';
import type { DurableProgress } from './durableProgress.js';
import type { ResponseCache } from './responseCache.js';
import type { Sessions } from './sessions.js';
import type { StoreBackends } from './storeBackends.js';
import type { Tracing } from './tracing.js';
import type { RunningUserEvents } from './userEventsService.js';

/** The parts of a started server that shut down, listed in close order. */
export interface ServerParts {
  readonly correlationWs: CorrelationSocket;
  readonly correlation: LiveCorrelation;
  readonly ws: WsServer;
  readonly app: FastifyInstance;
  readonly userEvents: RunningUserEvents;
  readonly stores: StoreBackends | undefined;
  readonly cache: ResponseCache;
  readonly progress: DurableProgress;
  readonly sessions: Sessions;
  readonly audit: AuditTrail;
}

/** The feed could not start: closes what started before it, without waiting for flushes. */
export async function closeAfterIngestFailed(p: ServerParts & Pick<RunningParts, 'accounts' | 'priceSaver' | 'tracing'>): Promise<void> {
  p.accounts.stop();
  await p.priceSaver?.close();
  await p.correlationWs.close();
  await p.correlation.stop(0);
  await p.ws.close();
  await p.app.close();
  await p.userEvents.close();
  await p.stores?.close(0);
  await p.progress.close();
  await p.cache.close();
  await p.sessions.close();
  await p.audit.close();
  await p.tracing?.shutdown();
}

/** A running server's parts, with what only a started server has. */
export interface RunningParts extends ServerParts {
  readonly feed: MarketFeed;
  readonly lagTimer: NodeJS.Timeout | undefined;
  readonly accounts: { stop(): void };
  readonly priceSaver: DemoPriceSaver | undefined;
  readonly tracing: Tracing | undefined;
}

/**
 * Graceful shutdown (also when the HTTP server could not listen), in order: stop intake (lag timer, account streams, the
 * feed, which flushes the window jobs), save the demo prices, close the
 * WebSockets, HTTP, user events, the stores (flushing their sinks), the cache,
 * the sessions and the audit trail, then export the last spans.
 */
export async function closeServer(p: RunningParts): Promise<void> {
  clearInterval(p.lagTimer);
  p.accounts.stop();
  await p.feed.stop();
  await p.priceSaver?.close();
  await p.correlationWs.close();
  await p.correlation.stop();
  await p.ws.close();
  await p.app.close();
  await p.userEvents.close();
  await p.stores?.close();
  await p.progress.close();
  await p.cache.close();
  await p.sessions.close();
  await p.audit.close();
  await p.tracing?.shutdown();
}
