import { join } from 'node:path';
import { z } from 'zod';
import { TickflowError, formatIssues, parseDuration, redactUrl } from '@tickflow/core';
import type { DemoUser } from './auth.js';
import { validTrustProxy } from './clientAddress.js';
import { ROLES } from './auth.js';
import { OtlpEndpointSchema } from './tracing.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const duration = z.string().refine((v) => {
  try {
    parseDuration(v as never, 'duration');
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 15m, 1h or 7d');

/** Candle timeframes the server computes (the operators roll the larger ones up from 1m). */
export const CANDLE_TIMEFRAMES = ['1m', '5m', '15m', '1h', '1d'] as const;

const usersSchema = z.string().default('viewer:viewer:viewer,trader:trader:trader,admin:admin:admin').transform((text, ctx): DemoUser[] => {
  const users: DemoUser[] = [];
  for (const item of text.split(',').filter((s) => s.trim() !== '')) {
    const [username, password, role] = item.trim().split(':');
    if (!username || !password || !ROLES.includes(role as never)) {
      ctx.addIssue({ code: 'custom', message: `"${item}" must be name:password:role with role one of ${ROLES.join(', ')}` });
      return z.NEVER;
    }
    users.push({ username, password, role: role as DemoUser['role'] });
  }
  return users;
});

/** The validated configuration of `tickflow serve`. */
export const ServerConfigSchema = z.object({
  port: int(0, 65_535).default(3000),
  host: z.string().min(1).default('127.0.0.1'),
  symbols: int(1, 10_000).default(20),
  rate: z.coerce.number().positive().max(1_000_000).default(200),
  seed: int(0, 2 ** 31).default(1),
  /** Embedded mode: how much synthetic history to backfill at start (0: none). */
  history: z.union([z.literal('0'), duration]).default('1d'),
  liveTimeframes: z
    .string()
    .default('1m,5m')
    .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t !== ''))
    .refine((l) => l.length > 0 && l.every((t) => (CANDLE_TIMEFRAMES as readonly string[]).includes(t)), `must be a comma separated subset of ${CANDLE_TIMEFRAMES.join(',')}`),
  dataDir: z.string().min(1).default('.tickflow'),
  auditLog: z.string().min(1).optional(),
  jwtSecret: z.string().min(32, 'must be at least 32 characters').optional(),
  accessTtl: duration.default('15m'),
  refreshTtl: duration.default('7d'),
  users: usersSchema,
  rateLimit: z.coerce.number().positive().max(1_000_000).default(1000),
  retentionBars: int(10, 1_000_000).default(1440),
  retentionTrades: int(10, 10_000_000).default(10_000),
  startingCash: z.coerce.number().positive().default(100_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines on a terminal, JSON otherwise. */
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  print: z.boolean().default(false),
  clickhouseUrl: z
    .string()
    .transform((s) => s.split(',').map((u) => u.trim()).filter((u) => u !== ''))
    .refine((l) => l.length > 0 && l.every((u) => /^https?:\/\/[^\s/]+/.test(u) && URL.canParse(u)), 'must be one http(s):// URL or several separated by commas (shards)')
    .optional(),
  databaseUrl: z
    .string()
    .refine((u) => /^postgres(ql)?:\/\//.test(u) && URL.canParse(u), 'must be a postgres:// (or postgresql://) URL')
    .optional(),
  redisUrl: z
    .string()
    .refine((u) => parseRedisUrl(u) !== undefined, 'must be redis://[:password@]host:port[/db], rediss://…, or redis-sentinel://[:password@]host:port[,host:port…]/masterName[/db]')
    .optional(),
  kafkaBrokers: z
    .string()
    .transform((s) => s.split(',').map((u) => u.trim()).filter((u) => u !== ''))
    .refine((l) => l.length > 0 && l.every((b) => /^[^\s:/]+:\d{1,5}$/.test(b)), 'must be host:port, or several separated by commas')
    .optional(),
  kafkaGroup: z.string().min(1).max(255).default('tickflow-serve'),
  kafkaTradesTopic: z.string().min(1).max(249).default('trades'),
  kafkaQuotesTopic: z.string().min(1).max(249).default('quotes'),
  /** Topic of the user events (page and SDK); dead letters go to `<topic>-dead-letter`. */
  kafkaEventsTopic: z.string().min(1).max(249).default('events'),
  /** Retention of ClickHouse `user_events` where the server has TTL ('0': none). */
  userEventsTtl: z.union([z.literal('0'), duration.refine((v) => /^\d+d$/.test(v), 'must be whole days such as 90d')]).default('90d'),
  /** User events kept in the in-process ring. */
  userEventsRing: int(100, 1_000_000).default(10_000),
  /**
   * Where ingest runs: `worker` (a worker thread: feed or Kafka consumer,
   * window jobs and store writes; the main thread keeps HTTP and WebSocket
   * fan-out), `main` (one thread), or `auto` (worker when the server runs from
   * its build, main when from TypeScript sources, e.g. under vitest).
   */
  ingestThread: z.enum(['auto', 'worker', 'main']).default('auto'),
  /** Connection pool maxima of the stores. */
  clickhouseMaxConnections: int(1, 1_000).default(10),
  databasePoolMax: int(1, 1_000).default(10),
  /** Anonymous visitors may get a read-only (viewer) guest token from POST /api/auth/guest. */
  guestAccess: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(true)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes'),
  /** NODE_ENV: `production` turns on the production checks (see securityPosture). */
  nodeEnv: z.string().max(64).optional(),
  /** Lets a production server start with demo users or a generated JWT secret (warned about at start). */
  allowDemo: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(false)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes'),
  /** Which hops' X-Forwarded-For to believe (see clientAddress.ts): the default trusts loopback and private ranges, where an ingress or load balancer sits. */
  trustProxy: z
    .string()
    .default('loopback,linklocal,uniquelocal')
    .refine(validTrustProxy, 'must be false, true, a number of hops, or addresses/CIDR ranges/loopback,linklocal,uniquelocal separated by commas'),
  /** Guest token pairs per minute per client address (burst: twice as many). */
  guestRate: z.coerce.number().positive().max(1_000_000).default(10),
  /** Open WebSocket connections per user (a guest is a user). */
  wsMaxPerUser: int(1, 1_000_000).default(16),
  /** permessage-deflate offered to WebSocket clients (off by default: see benchmarks/README.md, fanout). */
  wsDeflate: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(false)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes'),
  /** Return interval of the cross-asset correlation job (see liveCorrelation.ts). */
  correlationInterval: duration.default('1m'),
  /** Returns per pair of the correlation job. */
  correlationLookback: int(2, 100_000).default(60),
  /** Open WebSocket connections per client address. */
  wsMaxPerAddress: int(1, 1_000_000).default(64),
  /** OpenTelemetry: the OTLP/HTTP receiver spans go to (tracing.ts); unset: no tracing, nothing of OpenTelemetry loaded. */
  otlpEndpoint: OtlpEndpointSchema.optional(),
  /** WebSocket entitlements: role → channel kinds it may subscribe to. */
  wsEntitlements: z
    .string()
    .default('viewer:*,trader:*,admin:*')
    .transform((text, ctx) => {
      const out: Record<string, string[]> = {};
      for (const item of text.split(',').filter((x) => x.trim() !== '')) {
        const [role, kinds] = item.trim().split(':');
        const list = (kinds ?? '').split('|').map((k) => k.trim()).filter((k) => k !== '');
        if (!ROLES.includes(role as never) || list.length === 0 || !list.every((k) => k === '*' || WS_KINDS.includes(k as never))) {
          ctx.addIssue({ code: 'custom', message: `"${item}" must be role:kind|kind… with role one of ${ROLES.join(', ')} and kinds * or ${WS_KINDS.join(', ')}` });
          return z.NEVER;
        }
        out[role!] = list;
      }
      return out as Partial<Record<DemoUser['role'], string[]>>;
    }),
});

/** WebSocket channel kinds (see docs/protocol.md). */
export const WS_KINDS = ['trades', 'quotes', 'candles', 'profile', 'ticker', 'correlation'] as const;

/** A Redis connection from REDIS_URL: one node, or a Sentinel group. */
export type RedisTarget =
  | { readonly mode: 'single'; readonly url: string }
  | { readonly mode: 'sentinel'; readonly sentinels: { host: string; port: number }[]; readonly name: string; readonly password: string | undefined; readonly db: number };

/** Connection settings of a Redis target as ioredis, RedisStore and redisBridge take them: a URL, or the sentinels and master name. */
export function redisConnection(t: RedisTarget): { url: string } | { sentinels: { host: string; port: number }[]; name: string; password: string | undefined; db: number } {
  return t.mode === 'single' ? { url: t.url } : { sentinels: t.sentinels, name: t.name, password: t.password, db: t.db };
}

/** Parses REDIS_URL (undefined when malformed). */
export function parseRedisUrl(u: string): RedisTarget | undefined {
  if (/^rediss?:\/\/[^\s/]+/.test(u) && URL.canParse(u)) return { mode: 'single', url: u };
  const m = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/@\s]+)\/([^/\s]+)(?:\/(\d+))?$/.exec(u);
  if (m === null) return undefined;
  const sentinels: { host: string; port: number }[] = [];
  for (const hp of m[2]!.split(',')) {
    const hm = /^([^:\s]+):(\d{1,5})$/.exec(hp.trim());
    if (hm === null || Number(hm[2]) > 65_535 || Number(hm[2]) < 1) return undefined;
    sentinels.push({ host: hm[1]!, port: Number(hm[2]) });
  }
  return { mode: 'sentinel', sentinels, name: decodeURIComponent(m[3]!), password: m[1] === undefined || m[1] === '' ? undefined : decodeURIComponent(m[1]), db: m[4] === undefined ? 0 : Number(m[4]) };
}

/** The validated configuration of `tickflow serve`. */
export type ServerConfig = z.output<typeof ServerConfigSchema>;
/** Configuration as given (strings from flags and environment, or typed values). */
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

/** Where each setting comes from: flag, environment variable, help text. */
export const SETTINGS: readonly { key: keyof ServerConfigInput; flag: string; env?: string; help: string }[] = [
  { key: 'port', flag: '--port N', env: 'PORT', help: 'HTTP and WebSocket port (default 3000; 0 = any free port)' },
  { key: 'host', flag: '--host HOST', env: 'HOST', help: 'address to listen on (default 127.0.0.1)' },
  { key: 'symbols', flag: '--symbols N', env: 'TICKFLOW_SYMBOLS', help: 'synthetic symbols (default 20)' },
  { key: 'rate', flag: '--rate N', env: 'TICKFLOW_RATE', help: 'synthetic trades per second (default 200)' },
  { key: 'seed', flag: '--seed N', env: 'TICKFLOW_SEED', help: 'feed seed (default 1)' },
  { key: 'liveTimeframes', flag: '--timeframe LIST', help: 'the first is the timeframe of the latest candle per symbol in GET /api/symbols (default 1m,5m); REST and the WebSocket serve 1m,5m,15m,1h,1d' },
  { key: 'dataDir', flag: '--data-dir DIR', env: 'TICKFLOW_DATA_DIR', help: 'folder for the audit log (default .tickflow)' },
  { key: 'auditLog', flag: '--audit-log FILE', env: 'TICKFLOW_AUDIT_LOG', help: 'audit trail, NDJSON (default DATA_DIR/audit.ndjson)' },
  { key: 'jwtSecret', flag: '', env: 'JWT_SECRET', help: 'HS256 secret, ≥ 32 characters (default: generated once into DATA_DIR/jwt-secret, logged as a warning)' },
  { key: 'accessTtl', flag: '', env: 'JWT_ACCESS_TTL', help: 'access token lifetime (default 15m)' },
  { key: 'refreshTtl', flag: '', env: 'JWT_REFRESH_TTL', help: 'refresh token lifetime (default 7d)' },
  { key: 'users', flag: '', env: 'TICKFLOW_USERS', help: 'demo users name:password:role,… (default viewer:viewer:viewer,trader:trader:trader,admin:admin:admin)' },
  { key: 'rateLimit', flag: '--rate-limit N', env: 'RATE_LIMIT', help: 'requests per second per signed-in user; anonymous and guest requests share one bucket per client address (default 1000)' },
  { key: 'nodeEnv', flag: '', env: 'NODE_ENV', help: 'production: refuse to start with demo users or a generated JWT secret (also when --host is not a loopback address) unless TICKFLOW_ALLOW_DEMO=1' },
  { key: 'allowDemo', flag: '', env: 'TICKFLOW_ALLOW_DEMO', help: 'true|1: start anyway with demo users or a generated JWT secret in production (logged as a warning)' },
  { key: 'guestRate', flag: '', env: 'TICKFLOW_GUEST_RATE', help: 'guest token pairs per minute per client address, burst twice that (default 10)' },
  { key: 'trustProxy', flag: '--trust-proxy LIST', env: 'TICKFLOW_TRUST_PROXY', help: 'proxies whose X-Forwarded-For is believed: false, true, a hop count, or addresses/CIDRs/loopback,linklocal,uniquelocal (default loopback,linklocal,uniquelocal)' },
  { key: 'wsMaxPerUser', flag: '', env: 'TICKFLOW_WS_MAX_PER_USER', help: 'open WebSocket connections per user (default 16)' },
  { key: 'wsDeflate', flag: '', env: 'TICKFLOW_WS_DEFLATE', help: 'true|false: offer permessage-deflate on the WebSocket (frames ~2.3× smaller, more client CPU and latency; default false)' },
  { key: 'wsMaxPerAddress', flag: '', env: 'TICKFLOW_WS_MAX_PER_ADDRESS', help: 'open WebSocket connections per client address (default 64)' },
  { key: 'correlationInterval', flag: '', env: 'TICKFLOW_CORRELATION_INTERVAL', help: 'return interval of the cross-asset correlation (GET /api/correlation, /ws/correlation; default 1m)' },
  { key: 'correlationLookback', flag: '', env: 'TICKFLOW_CORRELATION_LOOKBACK', help: 'returns per pair of the correlation (default 60)' },
  { key: 'history', flag: '--history DURATION', env: 'TICKFLOW_HISTORY', help: 'embedded mode: synthetic history backfilled at start through the same operators, ending at the live prices (default 1d; 0 for none)' },
  { key: 'retentionBars', flag: '--retention-bars N', env: 'TICKFLOW_RETENTION_BARS', help: 'bars kept per symbol and timeframe (default 1440)' },
  { key: 'retentionTrades', flag: '--retention-trades N', env: 'TICKFLOW_RETENTION_TRADES', help: 'raw trades kept per symbol (default 10000)' },
  { key: 'startingCash', flag: '', env: 'TICKFLOW_STARTING_CASH', help: 'paper-trading cash per user (default 100000)' },
  { key: 'clickhouseUrl', flag: '--clickhouse-url URL', env: 'CLICKHOUSE_URL', help: 'full mode: ClickHouse HTTP URL, or several comma separated (shards); pipeline outputs go there, reads prefer it' },
  { key: 'databaseUrl', flag: '--database-url URL', env: 'DATABASE_URL', help: 'full mode: Timescale/PostgreSQL URL; pipeline outputs go there, reads fall back to it' },
  { key: 'redisUrl', flag: '--redis-url URL', env: 'REDIS_URL', help: 'full mode: Redis (redis://host:port or redis-sentinel://host:port,…/master): latest prices/candles, the shared aggregate cache, WebSocket fan-out across nodes' },
  { key: 'kafkaBrokers', flag: '--kafka-brokers LIST', env: 'KAFKA_BROKERS', help: 'full mode: ingest from Kafka (host:port,…) instead of the synthetic feed' },
  { key: 'kafkaGroup', flag: '', env: 'KAFKA_GROUP', help: 'Kafka consumer group (default tickflow-serve)' },
  { key: 'kafkaTradesTopic', flag: '', env: 'KAFKA_TRADES_TOPIC', help: 'Kafka topic of trades (default trades)' },
  { key: 'kafkaQuotesTopic', flag: '', env: 'KAFKA_QUOTES_TOPIC', help: 'Kafka topic of quotes (default quotes)' },
  { key: 'kafkaEventsTopic', flag: '', env: 'KAFKA_EVENTS_TOPIC', help: 'Kafka topic of user events from the page and the SDK (default events; dead letters to <topic>-dead-letter)' },
  { key: 'userEventsTtl', flag: '', env: 'TICKFLOW_USER_EVENTS_TTL', help: 'retention of ClickHouse user_events in whole days where the server has TTL (default 90d; 0 for none)' },
  { key: 'userEventsRing', flag: '', env: 'TICKFLOW_USER_EVENTS_RING', help: 'user events kept in the in-process ring (default 10000)' },
  { key: 'ingestThread', flag: '--ingest-thread WHERE', env: 'TICKFLOW_INGEST_THREAD', help: 'auto|worker|main: run ingest, windows and store writes in a worker thread, HTTP and WebSocket on the main thread (default auto: worker from the build)' },
  { key: 'clickhouseMaxConnections', flag: '', env: 'CLICKHOUSE_MAX_CONNECTIONS', help: 'ClickHouse HTTP connections per shard (default 10)' },
  { key: 'databasePoolMax', flag: '', env: 'DATABASE_POOL_MAX', help: 'PostgreSQL pool size (default 10)' },
  { key: 'guestAccess', flag: '', env: 'TICKFLOW_GUEST_ACCESS', help: 'true|false: anonymous visitors get a read-only viewer token from POST /api/auth/guest (default true)' },
  { key: 'wsEntitlements', flag: '', env: 'TICKFLOW_WS_ENTITLEMENTS', help: 'WebSocket channel kinds per role, e.g. viewer:ticker|candles,trader:* (default every role every kind)' },
  { key: 'logLevel', flag: '--log-level LEVEL', env: 'LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent (default info; each request is logged at debug)' },
  { key: 'logFormat', flag: '--log-format FORMAT', env: 'TICKFLOW_LOG_FORMAT', help: 'auto|json|pretty: readable lines on a terminal, JSON lines otherwise (default auto)' },
  { key: 'otlpEndpoint', flag: '', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', help: 'OpenTelemetry tracing: OTLP/HTTP receiver base URL (e.g. http://localhost:4318; spans as JSON to /v1/traces); unset: tracing off' },
];

/** `tickflow serve --help`. */
export function serveHelp(): string {
  const lines = ['tickflow serve: the reference server (synthetic feed → operators → stores, REST + WebSocket on one port)', 'Embedded mode (no service configured): synthetic feed, in-process store. Full mode: any of KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL, REDIS_URL.', '', 'Options (flag, environment variable):'];
  for (const s of SETTINGS) lines.push(`  ${(s.flag || '').padEnd(22)} ${(s.env ?? '').padEnd(26)} ${s.help}`);
  lines.push('  --print                                         print each final 1m candle to stdout', '');
  lines.push('Routes: / (live page), /api/docs, /api/openapi.json, /ws (WebSocket), /healthz, /readyz, /metrics');
  lines.push(
    'Full mode: each configured service replaces its embedded stand-in. KAFKA_BROKERS: trades (and quotes) come from Kafka instead of the',
    'synthetic feed; offsets are committed once the windows closed and the sinks made them durable; a full sink pauses the partitions.',
    'CLICKHOUSE_URL / DATABASE_URL: candles (1m…1d), volume profiles, tick counts and raw trades go there; /api/historical, /api/aggregates,',
    '/api/profile and /api/stats read ClickHouse, then PostgreSQL, then the in-process store, each behind a circuit breaker (x-data-source names',
    'the answer\'s source); 503 with Retry-After when none can answer a range the in-process store does not hold. REDIS_URL: latest prices,',
    'candles and quotes, the aggregate cache shared by every node (x-cache: hit-redis), and WebSocket fan-out across nodes.',
  );
  return `${lines.join('\n')}\n`;
}

/** Validates a configuration: one line per bad value, naming the flag or variable, the value and what is allowed. */
export function parseServerConfig(input: Partial<Record<keyof ServerConfigInput, unknown>>): ServerConfig & { auditLog: string } {
  const r = ServerConfigSchema.safeParse(input);
  if (!r.success) {
    const flagOf = (key: PropertyKey): string => {
      const setting = SETTINGS.find((x) => x.key === key);
      return [setting?.flag.split(' ')[0], setting?.env].filter((v) => v !== undefined && v !== '').join(' / ') || String(key);
    };
    const isUrl = (key: PropertyKey): boolean => key === 'databaseUrl' || key === 'clickhouseUrl' || key === 'redisUrl';
    const problems = formatIssues(r.error, {
      input,
      label: (path) => flagOf(path[0]!),
      show: (value, path) => (isUrl(path[0]!) && typeof value === 'string' ? JSON.stringify(redactUrl(value)) : JSON.stringify(value) ?? String(value)),
      separator: '\n  ',
    });
    throw new TickflowError('INVALID_ARGUMENT', `invalid configuration:\n  ${problems}\nRun tickflow serve --help for every setting.`, { cause: r.error });
  }
  return { ...r.data, auditLog: r.data.auditLog ?? join(r.data.dataDir, 'audit.ndjson') };
}

/** Reads flags (already split by parseArgs) and environment into a config input; flags win. */
export function configInput(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Partial<Record<keyof ServerConfigInput, unknown>> {
  const out: Partial<Record<keyof ServerConfigInput, unknown>> = {};
  for (const s of SETTINGS) {
    const flag = s.flag === '' ? undefined : flags[s.flag.split(' ')[0]!.slice(2)];
    const v = flag ?? (s.env === undefined ? undefined : env[s.env]);
    // TICKFLOW_USERS="" means no users (not the demo users).
    if (v !== undefined && (v !== '' || s.key === 'users')) out[s.key] = v;
  }
  if (flags.print === true) out.print = true;
  return out;
}

/** The demo users' names and passwords (the default TICKFLOW_USERS). */
const DEMO = new Set(['viewer:viewer', 'trader:trader', 'admin:admin']);

/** Is `host` a loopback address (only this machine can connect)? */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * What makes a configuration unsafe to expose, and whether it is exposed:
 * production is NODE_ENV=production or a non-loopback --host. Problems:
 * demo users (a user whose password is a demo password or equals its name),
 * a generated JWT secret. `refuse` is true when the server must not start
 * (production and not TICKFLOW_ALLOW_DEMO); otherwise the problems are
 * warnings. `notes` are facts worth a log line (guest access on in production).
 */
export function securityPosture(config: ServerConfig): { production: boolean; why: string; problems: string[]; refuse: boolean; notes: string[] } {
  const reasons: string[] = [];
  if (config.nodeEnv === 'production') reasons.push('NODE_ENV=production');
  if (!isLoopback(config.host)) reasons.push(`--host ${config.host} is reachable from other machines`);
  const problems: string[] = [];
  const weak = config.users.filter((u) => DEMO.has(`${u.username}:${u.password}`) || u.username === u.password);
  if (weak.length > 0) problems.push(`demo users with known passwords: ${weak.map((u) => `${u.username} (${u.role})`).join(', ')}; set TICKFLOW_USERS to your own name:password:role list (or "" for none)`);
  if (config.jwtSecret === undefined) problems.push('JWT_SECRET is not set: using a generated development secret (kept in DATA_DIR/jwt-secret so tokens survive a restart; it differs per node); set JWT_SECRET to ≥ 32 random characters');
  const production = reasons.length > 0;
  const notes: string[] = [];
  if (production && config.guestAccess) notes.push('guest access is on: anyone can get a read-only viewer token (POST /api/auth/guest); set TICKFLOW_GUEST_ACCESS=false to require sign-in');
  return { production, why: reasons.join(', '), problems, refuse: production && problems.length > 0 && !config.allowDemo, notes };
}

/** Seconds of a duration text such as '15m'. */
export function seconds(d: string): number {
  return Math.round(parseDuration(d as never, 'duration') / 1000);
}
