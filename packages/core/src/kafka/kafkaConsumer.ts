import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Admin, Batch, Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Duration } from '../duration.js';
import { parseDuration } from '../duration.js';
import { TickflowError, toTickflowError } from '../errors.js';
import { InvalidEvent, normalizeTrade } from '../events/trade.js';
import type { Trade } from '../events/trade.js';
import type { Job } from '../pipeline.js';
import { decodeKafkaValue, parseKafkaValueFormat, UndecodableValue } from './kafkaValueCodec.js';
import type { KafkaValueFormat } from './kafkaValueCodec.js';
import { PartitionProgress, decodeCommitMetadata, encodeCommitMetadata } from './partitionProgress.js';

/** Header of a dead-lettered message that says why it was rejected. */
export const DEAD_LETTER_REASON_HEADER = 'tickflow-reason';
/** Header of a dead-lettered message that says where it came from (`topic/partition/offset`). */
export const DEAD_LETTER_ORIGIN_HEADER = 'tickflow-origin';

/** Options of `kafkaConsumer`. */
export interface KafkaConsumerOptions<T = Trade> {
  /** Bootstrap servers, e.g. `['127.0.0.1:9092']`. */
  readonly brokers: readonly string[];
  /** Topic to consume (key = symbol). */
  readonly topic: string;
  /** Consumer group: processes in one group split the partitions. */
  readonly groupId: string;
  /**
   * The windows the jobs compute, for the commit rule: an offset is committed
   * only when every window of every event before it has closed (watermark ≥
   * end at the largest timeframe + grace) and its results are durable.
   */
  readonly windows: { readonly size: Duration | readonly Duration[]; readonly grace?: Duration };
  /** Value encoding. Default `auto` (JSON when the value starts with `{`, MessagePack otherwise). */
  readonly format?: KafkaValueFormat;
  /** Turns a decoded value into an event, or an InvalidEvent with the reason. Default: `normalizeTrade`. */
  readonly parse?: (value: unknown) => T | InvalidEvent;
  /** Event time of an event (UTC epoch ms). Default: its `ts` field. */
  readonly timestamp?: (event: T) => number;
  /** Topic that receives messages that could not be decoded or parsed (reason in the `tickflow-reason` header). */
  readonly deadLetterTopic?: string;
  /** How often offsets are committed (after the sinks made everything emitted durable). Default 1 s. */
  readonly commitInterval?: Duration;
  /** Client id. Default `tickflow`. */
  readonly clientId?: string;
  /** Most bytes fetched per partition and request (smaller: smaller batches, finer commits). Default 1 MB. */
  readonly maxBytesPerPartition?: number;
  /** Consumer-group session timeout. Default 10 s. */
  readonly sessionTimeout?: Duration;
  /** Called after each successful commit with the committed offsets (for metrics and tests). */
  readonly onCommit?: (offsets: readonly { readonly partition: number; readonly offset: number; readonly watermark: number }[]) => void;
  /** Called with warnings. Default console.warn. */
  readonly onWarning?: (message: string) => void;
}

/** Options of `KafkaConsumer.run`. */
export interface KafkaRunOptions<T> {
  /**
   * Builds the jobs the events go to (manually driven: `pipeline(opts).pipe(…).to(sink)`,
   * no source). Called at start and again after every rebalance: window state
   * is dropped then and rebuilt from the committed offsets.
   */
  readonly jobs: () => readonly Job<T, unknown>[];
  /** Makes everything the jobs handed to their outputs durable (e.g. `() => Promise.all(sinks.map((s) => s.flush()))`); awaited before each commit. */
  readonly durable?: () => Promise<unknown>;
  /** Aborting stops consuming, commits what is durable and disconnects (open windows are not flushed). */
  readonly signal?: AbortSignal;
  /**
   * End of stream for replays and tests: once every assigned partition is
   * read to its end and no message came for this long, end the jobs (every
   * open window fires, outputs close), commit and disconnect.
   */
  readonly endWhenIdle?: Duration;
}

/** Counters of a consumer. */
export interface KafkaConsumerStats {
  /** Messages read (including dead letters and skipped replays). */
  readonly messages: number;
  /** Events pushed into the jobs. */
  readonly events: number;
  /** Messages sent to the dead-letter topic. */
  readonly deadLetters: number;
  /** Replayed events of windows already durable before the last commit (skipped, see PartitionProgress). */
  readonly skippedReplayed: number;
  /** Offset commits. */
  readonly commits: number;
  /** Group assignments received (the first one included). */
  readonly assignments: number;
  /** Times the consumer paused its partitions because the sinks pushed back. */
  readonly pauses: number;
  /** Partitions assigned now. */
  readonly partitions: readonly number[];
  /** Messages behind the partitions' high watermarks, as of the last batch per partition. */
  readonly lag: number;
}

interface Generation<T> {
  readonly jobs: readonly Job<T, unknown>[];
  /** partition → per-job input index and commit bookkeeping. */
  readonly parts: Map<number, { readonly inputs: number[]; readonly progress: PartitionProgress }>;
}

/**
 * kafkajs's errors that mean "the group is rebalancing, rejoin" (its own
 * `isRebalancing`, plus UNKNOWN_MEMBER_ID which its runner also answers by
 * rejoining). They must reach kafkajs from `eachBatch`: it rejoins only when
 * the handler throws them (or its own heartbeat between batches sees one).
 */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/** True for a kafkajs error that asks the member to rejoin the group. */
function isRebalanceError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && REBALANCE_ERRORS.has(String((e as { type?: unknown }).type));
}

function tsField(e: unknown): number {
  return (e as { ts: number }).ts;
}

function ms(d: Duration, what: string): number {
  return parseDuration(d, what);
}

/**
 * Consumes a Kafka topic in a consumer group into manually driven pipeline
 * jobs, with one watermark input per partition, at-least-once delivery and
 * commits that make restarts exact (design §5):
 *
 * - offsets are committed only up to the oldest event whose window (at the
 *   largest timeframe, plus grace) is still open, and only after `durable()`
 *   resolved (the sinks hold everything emitted so far);
 * - each commit stores the watermark it was computed with as offset
 *   metadata; after a restart or rebalance, replayed events whose windows had
 *   closed by then are skipped (their complete windows are already stored),
 *   so a replay never overwrites a complete window with a partial one;
 * - on every rebalance the jobs are rebuilt: window state is dropped and
 *   every assigned partition resumes from its committed offset;
 * - messages that cannot be decoded or parsed go to the dead-letter topic
 *   with the reason in a header, and the offset moves on;
 * - when the sinks push back, the partitions are paused until they drain.
 *
 * @example
 * ```ts
 * const sink = clickhouse({ url, kind: 'candles' });
 * const consumer = kafkaConsumer({ brokers, topic: 'trades', groupId: 'candles', windows: { size: ['1m', '5m'], grace: '5s' }, deadLetterTopic: 'trades-dead-letter' });
 * await consumer.run({
 *   jobs: () => [pipeline<Trade>({ outOfOrderness: '2s', idleTimeout: '5s' }).pipe(keyBy('symbol'), tumbling({ size: ['1m', '5m'], grace: '5s' }, ohlcv())).to(sink)],
 *   durable: () => sink.flush(),
 *   signal,
 * });
 * ```
 */
export class KafkaConsumer<T = Trade> {
  private readonly kafka: Kafka;
  private readonly format: KafkaValueFormat;
  private readonly parse: (value: unknown) => T | InvalidEvent;
  private readonly tsOf: (e: T) => number;
  private readonly maxSize: number;
  private readonly grace: number;
  private readonly commitMs: number;
  private readonly sessionMs: number;
  private readonly warn: (m: string) => void;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private gen: Generation<T> | undefined;
  private pendingAssignment: number[] | undefined;
  private lock: Promise<void> = Promise.resolve();
  private lastCommitAt = 0;
  private lastMessageAt = Date.now();
  private stopping = false;
  private failure: TickflowError | undefined;
  /** A rebalance error a commit ran into, to be thrown to kafkajs from the batch handler. */
  private rejoin: unknown;
  /** Between kafkajs noticing a rebalance and the new assignment: not idle, whatever the partitions say. */
  private rebalancing = false;
  private readonly highWatermarks = new Map<number, number>();
  private readonly lastCommitted = new Map<number, number>();
  private counts = { messages: 0, events: 0, deadLetters: 0, skippedReplayed: 0, commits: 0, assignments: 0, pauses: 0 };

  constructor(private readonly options: KafkaConsumerOptions<T>) {
    if (options.brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'brokers must list at least one host:port, e.g. ["127.0.0.1:9092"]');
    if (options.topic === '' || options.groupId === '') throw new TickflowError('INVALID_ARGUMENT', 'topic and groupId must be non-empty');
    this.format = parseKafkaValueFormat(options.format ?? 'auto');
    this.parse = options.parse ?? (normalizeTrade as unknown as (v: unknown) => T | InvalidEvent);
    this.tsOf = options.timestamp ?? (tsField as (e: T) => number);
    const sizes = (Array.isArray(options.windows.size) ? options.windows.size : [options.windows.size]) as readonly Duration[];
    if (sizes.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'windows.size must name at least one timeframe, e.g. "1m"');
    this.maxSize = Math.max(...sizes.map((s) => ms(s, 'windows.size')));
    this.grace = ms(options.windows.grace ?? 0, 'windows.grace');
    this.commitMs = ms(options.commitInterval ?? 1000, 'commitInterval');
    this.sessionMs = ms(options.sessionTimeout ?? 10_000, 'sessionTimeout');
    this.warn = options.onWarning ?? ((m) => console.warn(`[tickflow] ${m}`));
    this.kafka = new Kafka({ clientId: options.clientId ?? 'tickflow', brokers: [...options.brokers], logLevel: kafkaLogLevel.NOTHING });
  }

  /** Current counters. */
  get stats(): KafkaConsumerStats {
    let lag = 0;
    const parts = this.gen === undefined ? [] : [...this.gen.parts.keys()].sort((a, b) => a - b);
    for (const p of parts) {
      const hw = this.highWatermarks.get(p);
      const next = this.gen!.parts.get(p)!.progress.next;
      if (hw !== undefined && hw > next) lag += hw - next;
    }
    return { ...this.counts, partitions: parts, lag };
  }

  /** When the windows of an event at `ts` have all closed (largest timeframe end + grace). */
  closeAt(ts: number): number {
    return (Math.floor(ts / this.maxSize) + 1) * this.maxSize + this.grace;
  }

  /**
   * Joins the group and consumes until `signal` aborts or, with
   * `endWhenIdle`, until the assigned partitions are read to their end.
   * Rejects with a TickflowError when a job or the client fails.
   */
  async run(run: KafkaRunOptions<T>): Promise<KafkaConsumerStats> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, sessionTimeout: this.sessionMs, heartbeatInterval: Math.max(100, Math.floor(this.sessionMs / 10)), rebalanceTimeout: Math.max(this.sessionMs, 10_000), maxWaitTimeInMs: 100, maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1_048_576, allowAutoTopicCreation: false, retry: { retries: 10 } });
    this.consumer = consumer;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    if (this.options.deadLetterTopic !== undefined) {
      this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
      await this.producer.connect();
    }
    let finish!: (e?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = (e?: unknown) => (e === undefined ? resolve() : reject(e));
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.rebalancing = false;
      const assignment = (e.payload.memberAssignment as Record<string, number[]>)[this.options.topic] ?? [];
      this.pendingAssignment = [...assignment].sort((a, b) => a - b);
      // Rebuild now, not on the next batch: partitions read to their end send no batch.
      this.serial(() => this.applyAssignment(run)).catch((err: unknown) => {
        this.fail(err, 'rebuilding the jobs after a rebalance failed');
        finish(this.failure);
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(e.payload.error, 'kafka consumer crashed');
    });
    const onAbort = (): void => finish();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    const tick = setInterval(() => {
      if (this.gen === undefined || this.stopping) return;
      const now = Date.now();
      try {
        for (const job of this.gen.jobs) job.tick(now);
      } catch (e) {
        this.fail(e, 'a job failed on a wall-clock tick');
      }
      if (this.failure) finish(this.failure);
    }, 100);
    const idleMs = run.endWhenIdle === undefined ? undefined : ms(run.endWhenIdle, 'endWhenIdle');
    let idleCheck: NodeJS.Timeout | undefined;
    let ended = false;
    if (idleMs !== undefined) {
      let checking = false;
      idleCheck = setInterval(() => {
        if (checking || this.stopping || Date.now() - this.lastMessageAt < idleMs || this.gen === undefined || this.pendingAssignment !== undefined || this.rebalancing) return;
        checking = true;
        this.caughtUp()
          .then((yes) => {
            if (yes) {
              ended = true;
              finish();
            }
          })
          .catch(() => undefined)
          .finally(() => {
            checking = false;
          });
      }, Math.min(200, idleMs));
    }
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.options.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.serial(() => this.onBatch(payload, run)).catch((e: unknown) => {
          // kafkajs rejoins on these; GROUP_JOIN then rebuilds the jobs on the new assignment.
          if (isRebalanceError(e)) {
            if (this.stopping) return;
            throw e;
          }
          this.fail(e, 'processing a batch failed');
          finish(this.failure);
        }),
      });
      if (run.signal?.aborted) finish();
      await done;
      this.stopping = true;
      await this.serial(async () => {
        if (this.failure) return;
        if (ended && this.gen !== undefined) {
          // end() fires every open window and closes the outputs (which flushes them).
          for (const job of this.gen.jobs) await job.end();
          await this.commit(Number.POSITIVE_INFINITY);
        } else if (this.gen !== undefined) {
          await this.commit(this.watermark(), run);
        }
      });
    } catch (e) {
      this.fail(e, 'the kafka consumer failed');
    } finally {
      this.stopping = true;
      clearInterval(tick);
      clearInterval(idleCheck);
      run.signal?.removeEventListener('abort', onAbort);
      await consumer.disconnect().catch(() => undefined);
      await this.producer?.disconnect().catch(() => undefined);
      await this.admin.disconnect().catch(() => undefined);
    }
    if (this.failure) throw this.failure;
    return this.stats;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const p = this.lock.then(fn);
    this.lock = p.catch(() => undefined);
    return p;
  }

  private fail(e: unknown, context: string): void {
    if (this.failure === undefined) this.failure = toTickflowError(e, 'SOURCE_FAILED', `kafka ${this.options.topic} (group ${this.options.groupId}): ${context}`);
  }

  private watermark(): number {
    let wm = Number.POSITIVE_INFINITY;
    for (const job of this.gen?.jobs ?? []) if (job.watermark < wm) wm = job.watermark;
    return wm === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : wm;
  }

  private async applyAssignment(run: KafkaRunOptions<T>): Promise<void> {
    if (this.pendingAssignment === undefined || this.stopping) return;
    const assigned = this.pendingAssignment;
    this.pendingAssignment = undefined;
    await this.rebuild(assigned, run);
  }

  /** Drops all window state and starts jobs for the new assignment from the committed offsets. */
  private async rebuild(assigned: number[], run: KafkaRunOptions<T>): Promise<void> {
    this.counts.assignments++;
    const old = this.gen;
    this.gen = undefined;
    // What the old jobs emitted fired on their watermark: complete, so hand it on (harmless, idempotent).
    if (old !== undefined) for (const job of old.jobs) await job.flush().catch(() => undefined);
    const topic = this.options.topic;
    const [committed, ends] = await Promise.all([
      this.admin!.fetchOffsets({ groupId: this.options.groupId, topics: [topic] }),
      this.admin!.fetchTopicOffsets(topic),
    ]);
    const jobs = run.jobs();
    const parts: Generation<T>['parts'] = new Map();
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p]));
    const lows = new Map(ends.map((e) => [e.partition, Number(e.low)]));
    this.lastCommitted.clear();
    assigned.forEach((partition, i) => {
      const inputs = jobs.map((job) => (i === 0 ? 0 : job.addInput()));
      const c = byPartition.get(partition);
      const offset = c !== undefined && Number(c.offset) >= 0 ? Number(c.offset) : (lows.get(partition) ?? 0);
      if (c !== undefined && Number(c.offset) >= 0) this.lastCommitted.set(partition, offset);
      parts.set(partition, { inputs, progress: new PartitionProgress(offset, decodeCommitMetadata(c?.metadata)) });
    });
    for (const e of ends) this.highWatermarks.set(e.partition, Number(e.high));
    this.gen = { jobs, parts };
  }

  private async onBatch({ batch, isStale, isRunning, heartbeat, pause }: EachBatchPayload, run: KafkaRunOptions<T>): Promise<void> {
    if (this.stopping || this.failure || !isRunning() || isStale()) return;
    await this.applyAssignment(run);
    const gen = this.gen;
    if (gen === undefined) return;
    const part = gen.parts.get(batch.partition);
    if (part === undefined || batch.messages.length === 0) return;
    this.lastMessageAt = Date.now();
    this.highWatermarks.set(batch.partition, Number(batch.highWatermark));
    const progress = part.progress;
    const skipBefore = progress.restoredWatermark;
    const events: T[] = [];
    let closeAt = Number.NEGATIVE_INFINITY;
    let dead: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[] | undefined;
    const msgs = batch.messages;
    let first = -1;
    let next = progress.next;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const offset = Number(m.offset);
      // Kafka may hand back messages before the position asked for (compressed sets): never twice.
      if (offset < progress.next) continue;
      if (first < 0) first = offset;
      next = offset + 1;
      this.counts.messages++;
      const decoded = decodeKafkaValue(m.value, this.format);
      let reason: string | undefined;
      let event: T | undefined;
      if (decoded instanceof UndecodableValue) reason = decoded.reason;
      else {
        const parsed = this.parse(decoded);
        if (parsed instanceof InvalidEvent) reason = parsed.reason;
        else event = parsed;
      }
      if (event === undefined) {
        (dead ??= []).push({ key: m.key, value: m.value, headers: { [DEAD_LETTER_REASON_HEADER]: reason!, [DEAD_LETTER_ORIGIN_HEADER]: `${batch.topic}/${batch.partition}/${m.offset}` } });
        continue;
      }
      const c = this.closeAt(this.tsOf(event));
      if (c <= skipBefore) {
        this.counts.skippedReplayed++;
        continue;
      }
      if (c > closeAt) closeAt = c;
      events.push(event);
    }
    if (first < 0) return;
    if (dead !== undefined) await this.deadLetter(dead);
    progress.add(first, next, closeAt);
    if (events.length !== 0) {
      this.counts.events += events.length;
      for (let j = 0; j < gen.jobs.length; j++) gen.jobs[j]!.pushBatch(events, part.inputs[j]!);
    }
    await this.handOver(gen, batch, pause);
    if (Date.now() - this.lastCommitAt >= this.commitMs) await this.commit(this.watermark(), run);
    // Throws kafkajs's rebalance errors (from the commit or the heartbeat) on to kafkajs, which rejoins.
    const rejoin = this.rejoin;
    this.rejoin = undefined;
    if (rejoin !== undefined) throw rejoin;
    await heartbeat();
  }

  /** Waits until the jobs' outputs took everything; pauses the partitions while a sink pushes back. */
  private async handOver(gen: Generation<T>, _batch: Batch, pause: () => () => void): Promise<void> {
    let settled = false;
    const all = Promise.all(gen.jobs.map((j) => j.flush())).finally(() => {
      settled = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    if (!settled) {
      this.counts.pauses++;
      const resume = pause();
      try {
        await all;
      } finally {
        resume();
      }
    } else {
      await all;
    }
  }

  private async deadLetter(messages: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[]): Promise<void> {
    this.counts.deadLetters += messages.length;
    if (this.producer === undefined || this.options.deadLetterTopic === undefined) {
      for (const m of messages) this.warn(`bad message ${m.headers[DEAD_LETTER_ORIGIN_HEADER]}: ${m.headers[DEAD_LETTER_REASON_HEADER]} (set deadLetterTopic to keep it)`);
      return;
    }
    // Awaited before the offset can be committed past these messages: a dead letter is never lost.
    await this.producer.send({ topic: this.options.deadLetterTopic, acks: -1, messages });
  }

  /**
   * Commits, per partition, the first offset of the oldest batch with an
   * open window at watermark `wm`, after everything emitted is durable.
   * `wm = +Infinity` (end of stream) commits everything read.
   */
  private async commit(wm: number, run?: KafkaRunOptions<T>): Promise<void> {
    const gen = this.gen;
    if (gen === undefined) return;
    this.lastCommitAt = Date.now();
    for (const job of gen.jobs) await job.flush();
    await run?.durable?.();
    const offsets: { topic: string; partition: number; offset: string; metadata: string; watermark: number }[] = [];
    for (const [partition, { progress }] of gen.parts) {
      const offset = progress.committable(wm);
      if (this.lastCommitted.get(partition) === offset) continue;
      const stored = wm === Number.POSITIVE_INFINITY ? progress.commitWatermark(progress.maxCloseAt) : progress.commitWatermark(wm);
      offsets.push({ topic: this.options.topic, partition, offset: String(offset), metadata: encodeCommitMetadata(stored), watermark: stored });
    }
    if (offsets.length === 0) return;
    try {
      await this.consumer!.commitOffsets(offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata })));
    } catch (e) {
      // A rebalance is under way: the next owner re-reads from the last commit, which is safe.
      if (isRebalanceError(e)) this.rejoin = e;
      this.warn(`offset commit failed (${e instanceof Error ? e.message : String(e)}); the partitions resume from the previous commit`);
      return;
    }
    this.counts.commits++;
    for (const o of offsets) this.lastCommitted.set(o.partition, Number(o.offset));
    this.options.onCommit?.(offsets.map((o) => ({ partition: o.partition, offset: Number(o.offset), watermark: o.watermark })));
  }

  /** True when every assigned partition has been read to its high watermark. */
  private async caughtUp(): Promise<boolean> {
    const gen = this.gen;
    if (gen === undefined) return false;
    const ends = await this.admin!.fetchTopicOffsets(this.options.topic);
    for (const e of ends) {
      const p = gen.parts.get(e.partition);
      if (p !== undefined && p.progress.next < Number(e.high)) return false;
    }
    return true;
  }
}

/**
 * Creates a Kafka consumer for pipeline jobs (see KafkaConsumer).
 *
 * @example
 * ```ts
 * const consumer = kafkaConsumer({ brokers: ['127.0.0.1:9092'], topic: 'trades', groupId: 'g', windows: { size: '1m' } });
 * ```
 */
export function kafkaConsumer<T = Trade>(options: KafkaConsumerOptions<T>): KafkaConsumer<T> {
  return new KafkaConsumer<T>(options);
}
