import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ensureDebianPrograms } from './debianPackages.js';
import { repoCacheDir } from './repoCache.js';
import { isRunning, killOnExit, stopChild } from './runningService.js';

/** A topic a test needs: name and partition count. */
export interface KafkaTopic {
  readonly name: string;
  /** Default 6. */
  readonly partitions?: number;
}

/** Options of startKafka. */
export interface KafkaOptions {
  /** Topics to create (names, or names with partition counts). Default: none. */
  readonly topics?: readonly (string | KafkaTopic)[];
  /** Number of mock brokers. Default 1. */
  readonly brokers?: number;
  /** Ignore KAFKA_BROKERS and always start a mock broker. Default false. */
  readonly ownServer?: boolean;
  /**
   * Bytes of record batches the mock broker keeps per partition before it
   * deletes the oldest batches (it may overshoot by one batch). Default
   * 512 MiB ({@link DEFAULT_MAX_BYTES_PER_PARTITION}); librdkafka's own limit
   * is 5 MiB and 100 000 batches per partition, which this raises for the
   * topics listed in `topics` (the batch count becomes unlimited). Only
   * librdkafka 2.0.x (Debian 12) can be raised: with another version the
   * 5 MiB limit stays and {@link KafkaService.retention} says so. Either way
   * {@link KafkaService.checkRetention} (and `stop()`) report dropped messages.
   * Ignored with KAFKA_BROKERS.
   */
  readonly maxBytesPerPartition?: number;
  /**
   * Let `stop()` check every topic for dropped messages first (see
   * {@link KafkaService.checkRetention}) and reject with a
   * {@link KafkaRetentionError} after stopping when some were. Default true.
   */
  readonly checkOnStop?: boolean;
}

/** What the mock broker keeps per partition. */
export interface KafkaRetention {
  /** Bytes of record batches kept per partition (the oldest batches beyond are deleted). */
  readonly maxBytesPerPartition: number;
  /** Record batches kept per partition; Infinity when only the byte limit applies. */
  readonly maxBatchesPerPartition: number;
  /** True when the asked maxBytesPerPartition applies; false when librdkafka's fixed 5 MiB / 100 000 batches do. */
  readonly raised: boolean;
  /** The librdkafka version of the mock broker. */
  readonly librdkafka: string;
  /** Why the limit could not be raised (when `raised` is false). */
  readonly reason?: string;
}

/** A partition that lost messages: its low watermark is above 0. */
export interface KafkaDroppedPartition {
  readonly topic: string;
  readonly partition: number;
  /** Offsets (messages) deleted from the front of the partition: its low watermark. */
  readonly dropped: number;
  /** Offsets still held (high - low watermark). */
  readonly kept: number;
}

/**
 * Thrown when a topic of the mock broker lost messages (a partition's low
 * watermark is above 0: the mock supports no DeleteRecords, so only its
 * retention limit deletes). Results read from such a topic are incomplete.
 */
export class KafkaRetentionError extends Error {
  /** The partitions that lost messages. */
  readonly partitions: readonly KafkaDroppedPartition[];
  constructor(partitions: readonly KafkaDroppedPartition[], retention: KafkaRetention | undefined) {
    const dropped = partitions.reduce((a, p) => a + p.dropped, 0);
    const where = partitions.map((p) => `${p.topic}[${p.partition}] dropped ${p.dropped} (kept ${p.kept})`).join(', ');
    const limit = retention === undefined ? '' : ` It keeps ${formatBytes(retention.maxBytesPerPartition)}${Number.isFinite(retention.maxBatchesPerPartition) ? ` and ${retention.maxBatchesPerPartition} batches` : ''} per partition (librdkafka ${retention.librdkafka}${retention.raised ? '' : `, limit not raised: ${retention.reason ?? 'unknown'}`}).`;
    super(`the Kafka mock broker deleted ${dropped} message(s), the oldest of each partition, past its retention limit: ${where}.${limit} Produce less per partition, use more partitions, raise startKafka({ maxBytesPerPartition }), or set KAFKA_BROKERS to a real cluster.`);
    this.name = 'KafkaRetentionError';
    this.partitions = partitions;
  }
}

/** A Kafka cluster for tests. */
export interface KafkaService {
  /** Bootstrap servers (`host:port`). */
  readonly brokers: readonly string[];
  /** True when the brokers came from KAFKA_BROKERS; stop() then does nothing. */
  readonly external: boolean;
  /** What the mock broker keeps per partition; undefined for an external cluster. */
  readonly retention?: KafkaRetention;
  /**
   * Throws a {@link KafkaRetentionError} naming each topic and partition that
   * lost messages (low watermark above 0) and how many. `topics` defaults to
   * every topic on the mock broker. Does nothing on an external cluster
   * (KAFKA_BROKERS), whose low watermarks follow its own retention and
   * earlier runs. Call it after producing many messages, before trusting what
   * was consumed.
   */
  checkRetention(topics?: readonly string[]): Promise<void>;
  /**
   * Makes the next `count` requests of Kafka API `apiKey` (e.g. 14, SyncGroup)
   * fail with Kafka error code `errorCode` (e.g. 42, INVALID_REQUEST), for
   * fault tests; resolves once the broker has queued them. Throws on an
   * external cluster (KAFKA_BROKERS), which cannot be told to fail.
   */
  injectErrors(apiKey: number, errorCode: number, count?: number): Promise<void>;
  /**
   * Stops the mock broker (its topics and offsets are gone). With
   * `checkOnStop` (default) it first checks every topic as checkRetention
   * does, and rejects with a KafkaRetentionError after stopping when a topic
   * lost messages.
   */
  stop(): Promise<void>;
}

/** Default of {@link KafkaOptions.maxBytesPerPartition}: 512 MiB. */
export const DEFAULT_MAX_BYTES_PER_PARTITION = 512 * 1024 * 1024;

/** The topics tickflow's tests and benchmarks use (6 partitions each). */
export const TICKFLOW_TOPICS: readonly string[] = ['trades', 'quotes', 'events', 'aggregates-1m', 'volume-profile-1m', 'tick-count-1m', 'trades-dead-letter'];

const HEADERS = [{ binary: '/usr/include/librdkafka/rdkafka_mock.h', pkg: 'librdkafka-dev' }, { binary: '/usr/bin/gcc', pkg: 'gcc' }];

function cSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'kafkaMock.c'), join(here, '..', 'src', 'kafkaMock.c')]) if (existsSync(p)) return p;
  throw new Error(`kafkaMock.c not found beside ${here}`);
}

/**
 * Compiles the mock broker (librdkafka's `rdkafka_mock.h`) into
 * `<repo>/.cache/kafka-mock/kafka-mock` when missing or older than its C
 * source, installing Debian's librdkafka-dev and gcc first when needed.
 * Returns the binary's path.
 */
export async function buildKafkaMock(): Promise<string> {
  await ensureDebianPrograms(HEADERS, 'KAFKA_BROKERS');
  const src = cSource();
  const dir = repoCacheDir('kafka-mock');
  const bin = join(dir, 'kafka-mock');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(dir, { recursive: true });
  // Compile to a unique name and rename: parallel test workers never see a half-written binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('gcc', ['-O2', '-o', tmp, src, '-lrdkafka'], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`compiling the Kafka mock broker failed (gcc exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-3000)}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/** How long the mock broker may take to print its bootstrap address. */
const BOOTSTRAP_TIMEOUT_MS = 60_000;

function topicSpecs(topics: readonly (string | KafkaTopic)[]): string[] {
  return topics.map((t) => (typeof t === 'string' ? `${t}:6` : `${t.name}:${t.partitions ?? 6}`));
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Parses the mock's `RETENTION raised|fixed BYTES BATCHES VERSION [REASON]` line. */
function parseRetention(line: string): KafkaRetention {
  const [state, bytes, batches, version, reason] = line.trim().split(/\s+/);
  const maxBatches = Number(batches);
  return {
    maxBytesPerPartition: Number(bytes),
    maxBatchesPerPartition: maxBatches >= Number.MAX_SAFE_INTEGER ? Infinity : maxBatches,
    raised: state === 'raised',
    librdkafka: version ?? 'unknown',
    ...(reason === undefined ? {} : { reason }),
  };
}

/** The partitions of `topics` (default: all) on `brokers` whose low watermark is above 0. */
async function droppedPartitions(brokers: readonly string[], topics: readonly string[] | undefined): Promise<KafkaDroppedPartition[]> {
  const admin = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 2 } }).admin();
  await admin.connect();
  try {
    const names = topics ?? (await admin.listTopics());
    const dropped: KafkaDroppedPartition[] = [];
    for (const topic of [...names].sort()) {
      for (const o of await admin.fetchTopicOffsets(topic)) {
        const low = Number(o.low);
        if (low > 0) dropped.push({ topic, partition: o.partition, dropped: low, kept: Number(o.high) - low });
      }
    }
    return dropped.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  } finally {
    await admin.disconnect();
  }
}

/**
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (`rdkafka_mock.h`,
 * from Debian's librdkafka-dev; the C program is kafkaMock.c beside this file),
 * compiled on first use, on loopback on a free port, with the given topics
 * created up front (the mock does not support the admin CreateTopics call
 * kafkajs sends). With KAFKA_BROKERS set (comma-separated), the tests use
 * that cluster instead and the topics must exist there.
 *
 * The mock keeps partitions in memory and deletes the oldest messages past a
 * per-partition limit: librdkafka's 5 MiB, raised to `maxBytesPerPartition`
 * (default 512 MiB) where possible (see {@link KafkaService.retention}).
 * Dropped messages never pass silently: `checkRetention()` and `stop()`
 * throw a {@link KafkaRetentionError} naming the topic, partition and count.
 *
 * @example
 * ```ts
 * const kafka = await startKafka({ topics: ['trades', { name: 'quotes', partitions: 3 }] });
 * const client = new Kafka({ brokers: [...kafka.brokers] });
 * await kafka.stop();
 * ```
 */
export async function startKafka({ topics = [], brokers = 1, ownServer = false, maxBytesPerPartition = DEFAULT_MAX_BYTES_PER_PARTITION, checkOnStop = true }: KafkaOptions = {}): Promise<KafkaService> {
  const env = (process.env.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (env.length > 0 && !ownServer) {
    const injectErrors = (): Promise<void> => Promise.reject(new Error('injectErrors: the brokers come from KAFKA_BROKERS (an external cluster), which cannot be told to fail requests; start the mock with ownServer: true'));
    return { brokers: env, external: true, checkRetention: async () => {}, injectErrors, stop: async () => {} };
  }
  if (!Number.isSafeInteger(maxBytesPerPartition) || maxBytesPerPartition <= 0) {
    throw new RangeError(`startKafka: maxBytesPerPartition must be a positive whole number of bytes, got ${maxBytesPerPartition}`);
  }
  const bin = await buildKafkaMock();
  // stdin stays a pipe: the broker exits when it closes, so it dies with the test process.
  const child: ChildProcess = spawn(bin, ['--max-bytes', String(maxBytesPerPartition), String(brokers), ...topicSpecs(topics)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const forget = killOnExit(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let retention: KafkaRetention | undefined;
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let out = '';
    // It prints within milliseconds on a quiet machine; the bound is wide because a test that starts it beside
    // two ClickHouse servers, PostgreSQL and a bundler on 2 cores once waited over 10 s for the CPU.
    const timer = setTimeout(() => reject(new Error(`the Kafka mock broker printed no bootstrap address within ${BOOTSTRAP_TIMEOUT_MS / 1000} s: ${stderr}`)), BOOTSTRAP_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /BOOTSTRAP (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const r = /^RETENTION (.+)$/m.exec(out);
        if (r) retention = parseRetention(r[1]!);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the Kafka mock broker exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  }).catch(async (e: unknown) => {
    await stopChild(child, 'SIGKILL');
    forget();
    throw e;
  });
  const list = bootstrap.split(',');
  const checkRetention = async (names?: readonly string[]): Promise<void> => {
    if (!isRunning(child)) throw new Error(`checkRetention: the Kafka mock broker (${bootstrap}) is not running, so its topics cannot be checked`);
    const dropped = await droppedPartitions(list, names);
    if (dropped.length > 0) throw new KafkaRetentionError(dropped, retention);
  };
  // Answers to ERRORS lines, in order (the broker handles stdin lines one at a time).
  const errorAcks: ((line: string) => void)[] = [];
  let ackBuf = '';
  child.stdout!.on('data', (d: Buffer) => {
    ackBuf += d.toString();
    let nl: number;
    while ((nl = ackBuf.indexOf('\n')) >= 0) {
      const line = ackBuf.slice(0, nl);
      ackBuf = ackBuf.slice(nl + 1);
      if (line.startsWith('ERRORS ')) errorAcks.shift()?.(line);
    }
  });
  const injectErrors = (apiKey: number, errorCode: number, count = 1): Promise<void> => {
    if (![apiKey, errorCode, count].every(Number.isSafeInteger) || count < 1 || count > 1000) return Promise.reject(new RangeError(`injectErrors: apiKey, errorCode and count (1…1000) must be whole numbers, got ${apiKey}, ${errorCode}, ${count}`));
    if (!isRunning(child)) return Promise.reject(new Error(`injectErrors: the Kafka mock broker (${bootstrap}) is not running`));
    return new Promise<void>((resolve, reject) => {
      errorAcks.push((line) => (line === 'ERRORS pushed' ? resolve() : reject(new Error(`injectErrors: the mock broker answered "${line}"`))));
      child.stdin!.write(`ERRORS ${apiKey} ${errorCode} ${count}\n`);
    });
  };
  return {
    brokers: list,
    external: false,
    ...(retention === undefined ? {} : { retention }),
    checkRetention,
    injectErrors,
    async stop() {
      let failure: unknown;
      if (checkOnStop && isRunning(child)) {
        await checkRetention().catch((e: unknown) => {
          // Only a drop fails stop(); a broker a test left unreachable is not a retention problem.
          if (e instanceof KafkaRetentionError) failure = e;
        });
      }
      if (isRunning(child)) child.stdin!.end();
      await stopChild(child, 'SIGTERM', 5_000);
      forget();
      if (failure !== undefined) throw failure;
    },
  };
}
