import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
}

/** A Kafka cluster for tests. */
export interface KafkaService {
  /** Bootstrap servers (`host:port`). */
  readonly brokers: readonly string[];
  /** True when the brokers came from KAFKA_BROKERS; stop() then does nothing. */
  readonly external: boolean;
  /** Stops the mock broker (its topics and offsets are gone). */
  stop(): Promise<void>;
}

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

function topicSpecs(topics: readonly (string | KafkaTopic)[]): string[] {
  return topics.map((t) => (typeof t === 'string' ? `${t}:6` : `${t.name}:${t.partitions ?? 6}`));
}

/**
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (design §8),
 * compiled on first use, on loopback on a free port, with the given topics
 * created up front (the mock does not support the admin CreateTopics call
 * kafkajs sends). With KAFKA_BROKERS set (comma-separated), the tests use
 * that cluster instead and the topics must exist there.
 *
 * @example
 * ```ts
 * const kafka = await startKafka({ topics: ['trades', { name: 'quotes', partitions: 3 }] });
 * const client = new Kafka({ brokers: [...kafka.brokers] });
 * await kafka.stop();
 * ```
 */
export async function startKafka({ topics = [], brokers = 1, ownServer = false }: KafkaOptions = {}): Promise<KafkaService> {
  const env = (process.env.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (env.length > 0 && !ownServer) return { brokers: env, external: true, stop: async () => {} };
  const bin = await buildKafkaMock();
  // stdin stays a pipe: the broker exits when it closes, so it dies with the test process.
  const child: ChildProcess = spawn(bin, [String(brokers), ...topicSpecs(topics)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const forget = killOnExit(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the Kafka mock broker printed no bootstrap address within 10 s: ${stderr}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /BOOTSTRAP (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
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
  return {
    brokers: bootstrap.split(','),
    external: false,
    async stop() {
      if (isRunning(child)) child.stdin!.end();
      await stopChild(child, 'SIGTERM', 5_000);
      forget();
    },
  };
}
