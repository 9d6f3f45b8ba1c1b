import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TickflowError } from '@tickflow/core';
import type { KafkaConsumerStats } from '@tickflow/core/kafka';
import type { IngestEvents } from './ingestEvents.js';
import type { FromIngestWorker, IngestWorkerConfig, ToIngestWorker } from './ingestWire.js';
import { unpackIngestBatch, unpackTrades } from './ingestWire.js';
import type { FeedStats, MarketFeed } from './marketFeed.js';
import type { WriterStats } from './storeBackends.js';

/**
 * The built worker script: `ingestWorker.js` beside this module when the
 * server runs from a build (dist/, or a bundle that put the worker beside it);
 * from TypeScript sources (vitest) the package's dist, when built. Undefined
 * when there is none.
 */
export function ingestWorkerScript(): URL | undefined {
  const candidates = runningFromBuild() ? ['./ingestWorker.js'] : ['../../dist/ingestWorker.js'];
  for (const rel of candidates) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/** True when this module runs from a build or bundle, not from TypeScript sources (so `auto` puts ingest in a worker thread). */
export function runningFromBuild(): boolean {
  return !import.meta.url.endsWith('.ts');
}

/** Options of startIngestWorker. */
export interface IngestWorkerOptions {
  readonly config: IngestWorkerConfig;
  /** The serving side (applyIngest): batches from the worker are applied here, on the main thread. */
  readonly events: IngestEvents;
  readonly log: (message: string) => void;
  /** The read-only StoreBackends of the main thread shows the worker's sink figures. */
  readonly showWriterStats?: (stats: () => WriterStats) => void;
  /** A sink batch became durable in the worker (sink latency metric). */
  readonly onWritten?: (store: string, table: string, ms: number) => void;
}

/** Thrown when the ingest worker could not start (a store unreachable past the patience, a bad setting). */
export class IngestWorkerFailed extends TickflowError {
  constructor(message: string) {
    super('SOURCE_FAILED', `ingest worker: ${message}`);
  }
}

/**
 * Starts ingest (feed or Kafka consumer, window jobs, store writes) in a
 * worker thread. Its output is applied to `events` on this thread in packed
 * batches, acknowledged one by one: when the main thread falls 16 batches
 * behind, the worker's ingest waits (a Kafka consumer pauses its partitions)
 * instead of queueing without bound. Resolves once the worker is consuming.
 */
export async function startIngestWorker(o: IngestWorkerOptions): Promise<MarketFeed> {
  const script = ingestWorkerScript();
  if (script === undefined) throw new IngestWorkerFailed('dist/ingestWorker.js is missing: build the dashboard (npm run build) or run ingest on the main thread (--ingest-thread main)');
  // The worker runs the build, so it resolves packages without this process's `--conditions` (a test runner's
  // `@tickflow/source` would point it at TypeScript sources); other flags (e.g. --cpu-prof) carry over.
  const worker = newIngestWorker(script, o.config, process.execArgv);
  const send = (m: ToIngestWorker): void => worker.postMessage(m);
  let feed: FeedStats = { events: 0, emitted: 0, late: 0, deadLetters: 0 };
  let kafka: KafkaConsumerStats | undefined;
  let quotesLag = 0;
  let writer: WriterStats = { sinks: {}, droppedRows: 0 };
  let onStopped: (() => void) | undefined;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const started = new Promise<string>((resolve, reject) => {
    worker.on('message', (m: FromIngestWorker) => {
      switch (m.t) {
        case 'out': {
          const b = m.data === undefined ? {} : unpackIngestBatch(m.data);
          const e = o.events;
          if (m.trades !== undefined) void e.trades(unpackTrades(m.trades));
          if (b.c !== undefined) e.candles(b.c);
          if (b.p !== undefined) e.profiles(b.p);
          if (b.k !== undefined) e.ticks(b.k);
          if (b.q !== undefined) e.quotes(b.q);
          if (b.late !== undefined) e.late(b.late);
          if (b.dead !== undefined) e.dead(b.dead);
          send({ t: 'ack', seq: m.seq });
          break;
        }
        case 'stats':
          feed = m.feed;
          kafka = m.kafka;
          quotesLag = m.quotesLag ?? 0;
          if (m.writer !== undefined) writer = m.writer;
          for (let i = 0; i + 2 < m.written.length; i += 3) o.onWritten?.(m.written[i] as string, m.written[i + 1] as string, m.written[i + 2] as number);
          break;
        case 'log':
          if (m.level === 'warn') o.events.warn(m.message);
          else o.log(m.message);
          break;
        case 'ready':
          // The worker posts its stats before 'ready' (ingestWorker.ts): a Kafka feed's are there from now on.
          if (o.config.feed.kind === 'kafka' && kafka === undefined) reject(new IngestWorkerFailed('the worker reported no Kafka consumer stats before ready'));
          else resolve(m.describe);
          break;
        case 'failed':
          reject(new IngestWorkerFailed(m.message));
          break;
        case 'stopped':
          onStopped?.();
          break;
      }
    });
    worker.once('error', (e) => {
      o.events.warn(`ingest worker failed: ${e.message}`);
      reject(new IngestWorkerFailed(e.message));
    });
    void exited.then((code) => reject(new IngestWorkerFailed(`exited with code ${code} before it started`)));
  });
  try {
    const describe = await started;
    o.log(`ingest runs in a worker thread: ${describe}`);
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  o.showWriterStats?.(() => writer);
  let died: string | undefined;
  void exited.then((code) => {
    if (onStopped !== undefined) return;
    died = `the ingest worker exited (code ${code})`;
    o.events.warn(`${died}: nothing is ingested any more; /healthz answers 503`);
  });
  let stopped: Promise<void> | undefined;
  return {
    stats: () => (died === undefined ? feed : { ...feed, stopped: feed.stopped ?? died }),
    kafka: o.config.feed.kind === 'kafka' ? () => kafka as KafkaConsumerStats : undefined,
    quotesLag: () => quotesLag,
    stop() {
      stopped ??= (async () => {
        const done = new Promise<void>((resolve) => (onStopped = resolve));
        send({ t: 'stop' });
        // The worker flushes its jobs and sinks (bounded by the stores' close) and posts everything before 'stopped'.
        const timer = setTimeout(() => void worker.terminate(), 60_000);
        await Promise.race([done, exited]);
        clearTimeout(timer);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        await worker.terminate();
      })();
      return stopped;
    },
  };
}

/**
 * The ingest Worker, with this process's Node flags where a worker takes
 * them. A worker refuses V8 flags (`--max-old-space-size`, `--stack-size`,
 * `--expose-gc`…: ERR_WORKER_INVALID_EXEC_ARGV, which failed the server's
 * start): those it names are dropped and the rest tried again.
 * `--max-old-space-size=N` becomes the worker's own old-generation limit, so
 * both threads get the heap the operator asked for.
 */
export function newIngestWorker(script: URL, config: IngestWorkerConfig, argv: readonly string[]): Worker {
  let execArgv = withoutConditions(argv);
  const oldSpace = argv.map((a) => /^--max-old-space-size=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);
  const resourceLimits = oldSpace === undefined ? undefined : { maxOldGenerationSizeMb: Number(oldSpace) };
  for (;;) {
    try {
      return new Worker(script, { workerData: config, name: 'tickflow-ingest', execArgv, resourceLimits });
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || execArgv.length === 0) throw e;
      // "Initiated Worker with invalid execArgv flags: --a=1, --b": drop those; if none is recognised, drop all.
      const named = new Set((e as Error).message.slice((e as Error).message.indexOf(':') + 1).split(/[\s,]+/).filter(Boolean));
      const kept = execArgv.filter((a) => !named.has(a) && !named.has(a.split('=')[0]!));
      execArgv = kept.length < execArgv.length ? kept : [];
    }
  }
}

/** Node flags without `--conditions`/`-C` (both `--conditions x` and `--conditions=x`). */
export function withoutConditions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) out.push(a);
  }
  return out;
}
