import { join } from 'node:path';
import type { Logger } from 'pino';
import { openAuditTrail } from './auditLog.js';
import type { AuditTrail } from './auditLog.js';
import type { InMemoryMarketStore } from './marketStore.js';
import type { RedisTarget, ServerConfig } from './serverConfig.js';
import { everythingDurable, groupDurableProgress } from './durableProgress.js';
import type { DurableProgress } from './durableProgress.js';
import { ResponseCache } from './responseCache.js';
import type { ServerMetrics } from './serverMetrics.js';
import { Sessions } from './sessions.js';
import { StoreBackends } from './storeBackends.js';
import { startUserEvents } from './userEventsService.js';
import type { RunningUserEvents } from './userEventsService.js';

/** The server's metrics once they exist: they need the WebSocket server, which starts after the stores. */
export interface LateMetrics {
  metrics?: ServerMetrics;
}

/** The stores as this thread connects them and (with the ingest worker) the worker does. */
export function storeSettingsOf(config: ServerConfig, redis: RedisTarget | undefined) {
  return {
    clickhouseUrls: config.clickhouseUrl,
    databaseUrl: config.databaseUrl,
    redis,
    clickhouseMaxConnections: config.clickhouseMaxConnections,
    databasePoolMax: config.databasePoolMax,
    maxBufferedRows: 100_000,
    // A full sink is backpressure in every mode, never a drop: Kafka partitions pause, the synthetic feed slows down.
    whenFull: 'wait' as const,
  };
}

/** Settings of the full-mode stores shared by this thread and the ingest worker. */
export type StoreSettings = ReturnType<typeof storeSettingsOf>;

/**
 * Opens the audit trail: the NDJSON journal first (fsync'd per entry), shipped
 * to PostgreSQL's tickflow_audit when DATABASE_URL is set; logs where it is.
 */
export async function openServerAudit(config: ServerConfig & { auditLog: string }, log: Logger): Promise<AuditTrail> {
  const audit = await openAuditTrail({ path: config.auditLog, databaseUrl: config.databaseUrl, poolMax: Math.min(config.databasePoolMax, 2), warn: (m) => log.warn(m) });
  if (audit.skipped > 0) log.warn({ path: audit.path, skipped: audit.skipped }, 'audit log: skipped unreadable lines (a torn write?)');
  log.info({ store: audit.store, journal: audit.path, entries: audit.loaded.length }, audit.store === 'postgres' ? `audit trail: PostgreSQL table tickflow_audit, journal ${audit.path}` : `audit trail: NDJSON file ${audit.path}`);
  return audit;
}

/** Options of openBackends. */
export interface BackendOptions {
  readonly config: ServerConfig;
  readonly log: Logger;
  /** The in-process store (reads fall back to it; embedded mode keeps everything there). */
  readonly store: InMemoryMarketStore;
  /** Closed too when a backend fails to open. */
  readonly audit: AuditTrail;
  readonly redis: RedisTarget | undefined;
  readonly storeSettings: StoreSettings;
  /** With the ingest worker, this side only reads; the worker's own StoreBackends writes. */
  readonly inWorker: boolean;
  readonly late: LateMetrics;
}

/** What the server keeps its state in besides the audit trail. */
export interface Backends {
  /** Full mode: the configured stores; undefined in embedded mode. */
  readonly stores: StoreBackends | undefined;
  readonly cache: ResponseCache;
  /** How far the stores are complete (what the aggregate routes may cache): the trades consumer group's committed watermark with Kafka. */
  readonly progress: DurableProgress;
  readonly sessions: Sessions;
  readonly userEvents: RunningUserEvents;
}

/**
 * Connects the stores, the response cache (and with Kafka the reader of how far the stores are complete), the sessions and the user events.
 * When one fails, those already open are closed (and the audit trail) and the
 * error is rethrown.
 */
export async function openBackends(o: BackendOptions): Promise<Backends> {
  const { config, log, late } = o;
  let stores: StoreBackends | undefined;
  let userEvents: RunningUserEvents | undefined;
  let cache: ResponseCache | undefined;
  let progress: DurableProgress | undefined;
  let sessions: Sessions | undefined;
  try {
    stores = await StoreBackends.connect(
      {
        ...o.storeSettings,
        writes: !o.inWorker,
        log: (m) => log.info(m),
        warn: (m) => log.warn(m),
        onBreaker: (name, state) => log.warn({ store: name, breaker: state }, `${name} reads: circuit breaker ${state}`),
        onWritten: (s, t, ms) => late.metrics?.sinkLatency.observe({ store: s, table: t }, ms / 1000),
      },
      o.store,
    );
    cache = await ResponseCache.open(60_000, o.redis);
    progress = config.kafkaBrokers === undefined ? everythingDurable : await groupDurableProgress({ brokers: config.kafkaBrokers, groupId: config.kafkaGroup, topic: config.kafkaTradesTopic, warn: (m) => log.warn(m) });
    sessions = await Sessions.open({ redis: o.redis, file: o.redis === undefined ? join(config.dataDir, 'sessions.json') : undefined });
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
    await progress?.close();
    await cache?.close();
    await stores?.close(0);
    await o.audit.close();
    throw e;
  }
  return { stores, cache, progress, sessions, userEvents };
}
