import { Kafka, PartitionAssigners, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Admin, Batch, Consumer, EachBatchPayload, PartitionAssigner, Producer } from 'kafkajs';
import type { Duration } from '../duration.js';
import { ms } from '../duration.js';
import { TickflowError, toTickflowError } from '../errors.js';
import { InvalidEvent, normalizeTrade } from '../events/trade.js';
import type { Trade } from '../events/trade.js';
import type { Job } from '../pipeline.js';
import type { CheckpointScope, CheckpointStore } from './checkpointStore.js';
import { isRebalanceError, withHeartbeats } from './groupHeartbeats.js';
import { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from './kafkaConsumerOptions.js';
import type { KafkaConsumerOptions, KafkaConsumerStats, KafkaRunOptions } from './kafkaConsumerOptions.js';
import { decodeKafkaValue, parseKafkaValueFormat, UndecodableValue } from './kafkaValueCodec.js';
import type { KafkaValueFormat } from './kafkaValueCodec.js';
import { LateEventLog } from './lateEventLog.js';
import { traceBatch } from './batchTrace.js';
import { currentTracer, tickTraced } from '../tracing/tracer.js';
import type { TraceSpan } from '../tracing/tracer.js';
import { decodePartitionCheckpoint, encodePartitionCheckpoint, loadCheckpoints } from './partitionCheckpoint.js';
import type { PartitionCheckpoint } from './partitionCheckpoint.js';
import { PartitionProgress, decodeCommitMetadata, encodeCommitMetadata } from './partitionProgress.js';

export { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from './kafkaConsumerOptions.js';
export type { KafkaConsumerOptions, KafkaConsumerStats, KafkaLateEvent, KafkaRunOptions } from './kafkaConsumerOptions.js';

/** What the consumer keeps per assigned partition. */
interface PartitionState {
  /** Per job, the watermark input of this partition. */
  readonly inputs: number[];
  readonly progress: PartitionProgress;
  /** Max event time read on this partition (−Infinity before the first); restored from checkpoints. */
  maxTs: number;
  /** Wall-clock ms of the last message read (or of the assignment). */
  lastMessageAt: number;
  /** True while the jobs have this partition marked idle. */
  idle: boolean;
  /** The offset of the last checkpoint stored (or restored), −1 when none. */
  checkpointed: number;
}

interface Generation<T> {
  readonly jobs: readonly Job<T, unknown>[];
  /** partition → its inputs, commit bookkeeping and idleness. */
  readonly parts: Map<number, PartitionState>;
}

/** Default of KafkaConsumerOptions.rejoinAttempts. */
const REJOIN_ATTEMPTS = 8;
/** First restart delay; doubled per consecutive crash up to RESTART_BACKOFF_MAX_MS. */
const RESTART_BACKOFF_MS = 500;
const RESTART_BACKOFF_MAX_MS = 15_000;

/** How long the group leader waits before it sends the assignment (see roundRobinWithHeadStart). */
const LEADER_SYNC_DELAY_MS = 300;

/**
 * kafkajs's round-robin assigner (same protocol name, so it mixes with plain
 * kafkajs members), except that the leader waits LEADER_SYNC_DELAY_MS before
 * handing in the assignment. Kafka itself answers a follower's SyncGroup that
 * comes after the leader's at once; librdkafka's mock cluster (the test
 * harness's broker, packages/test-services/src/kafkaMock.ts) closes the sync
 * on the leader's and refuses a later follower with INVALID_REQUEST, which
 * stops kafkajs for good. The head start lets the followers' SyncGroups,
 * sent right after their JoinGroup answers, arrive first. It costs one
 * rebalance 0.3 s.
 */
const roundRobinWithHeadStart: PartitionAssigner = (config) => {
  const inner = PartitionAssigners.roundRobin(config);
  return {
    name: inner.name,
    version: inner.version,
    protocol: (subscription) => inner.protocol(subscription),
    async assign(group) {
      const assignment = await inner.assign(group);
      if (group.members.length > 1) await new Promise((r) => setTimeout(r, LEADER_SYNC_DELAY_MS));
      return assignment;
    },
  };
};

function tsField(e: unknown): number {
  return (e as { ts: number }).ts;
}

/**
 * Consumes a Kafka topic in a consumer group into manually driven pipeline
 * jobs, with one watermark input per partition, at-least-once delivery and
 * commits that make restarts exact (docs/architecture.md, "Exactly-once
 * results from Kafka"):
 *
 * - lateness is event time only: an event is late when its own partition's
 *   watermark passed its window (never because other partitions advanced, the
 *   consumer was busy or a sink pushed back); a partition stops holding the
 *   watermark only when it is read to its end and quiet for `idleTimeout`;
 *   late events are counted and logged with partition and offset;
 * - with `checkpoints`, each commit first stores every partition's window
 *   state (`Job.snapshot`) at the offset it commits, after `durable()`
 *   resolved; a restart or rebalance restores it and re-reads only what came
 *   after the last commit;
 * - without, offsets are committed only up to the oldest event whose window
 *   (largest timeframe, plus grace) is still open, with the watermark as
 *   offset metadata; replayed events of windows closed by then are skipped;
 * - window versions (`rev`) depend only on the input, so whatever a replay
 *   re-emits ends on the version an uninterrupted run ends on;
 * - messages that cannot be decoded or parsed go to the dead-letter topic
 *   with the reason in a header, and the offset moves on;
 * - when the sinks push back, the partitions are paused until they drain.
 *
 * @example
 * ```ts
 * const sink = clickhouse({ url, kind: 'candles' });
 * const consumer = kafkaConsumer({ brokers, topic: 'trades', groupId: 'candles', windows: { size: ['1m', '1d'], grace: '5s' }, idleTimeout: '5s', checkpoints: fileCheckpoints('./checkpoints'), deadLetterTopic: 'trades-dead-letter' });
 * await consumer.run({
 *   jobs: () => [pipeline<Trade>({ outOfOrderness: '2s' }).pipe(keyBy('symbol'), tumbling({ size: ['1m', '1d'], grace: '5s' }, ohlcv())).to(sink)],
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
  /** Something was read or fired since the last commit: the tick commits it once the batches stop. */
  private dirty = false;
  private tickCommit: Promise<void> | undefined;
  /** The heartbeat of the last batch (kafkajs's group heartbeat), for waits outside a batch. */
  private lastHeartbeat: (() => Promise<void>) | undefined;
  /** Between kafkajs noticing a rebalance and the new assignment: not idle, whatever the partitions say. */
  private rebalancing = false;
  private readonly highWatermarks = new Map<number, number>();
  private readonly lastCommitted = new Map<number, number>();
  private counts = { messages: 0, events: 0, deadLetters: 0, skippedReplayed: 0, commits: 0, assignments: 0, pauses: 0, checkpoints: 0, restored: 0, idled: 0, restarts: 0 };
  private readonly idleMs: number | undefined;
  private readonly rejoinAttempts: number;
  /** Smallest window size, and the jobs' out-of-orderness: what own-partition lateness is judged with (for the late log). */
  private readonly minSize: number;
  private ooo = 0;
  /** True while the consumer waits for a sink (partitions paused): no partition turns idle then. */
  private paused = false;
  private idleCheck: Promise<void> | undefined;
  private lastIdleCheckAt = 0;
  private readonly lateLog: LateEventLog;
  private readonly scope: CheckpointScope;
  /** Set when the state could not be split by partition: commits follow the no-checkpoint rule then. */
  private checkpointsOff = false;

  constructor(private readonly options: KafkaConsumerOptions<T>) {
    if (options.brokers.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'brokers must list at least one host:port, e.g. ["127.0.0.1:9092"]');
    if (options.topic === '' || options.groupId === '') throw new TickflowError('INVALID_ARGUMENT', 'topic and groupId must be non-empty');
    this.format = parseKafkaValueFormat(options.format ?? 'auto');
    this.parse = options.parse ?? (normalizeTrade as unknown as (v: unknown) => T | InvalidEvent);
    this.tsOf = options.timestamp ?? (tsField as (e: T) => number);
    const sizes = (Array.isArray(options.windows.size) ? options.windows.size : [options.windows.size]) as readonly Duration[];
    if (sizes.length === 0) throw new TickflowError('INVALID_ARGUMENT', 'windows.size must name at least one timeframe, e.g. "1m"');
    this.maxSize = Math.max(...sizes.map((s) => ms(s, 'windows.size')));
    this.minSize = Math.min(...sizes.map((s) => ms(s, 'windows.size')));
    this.idleMs = options.idleTimeout === undefined ? undefined : ms(options.idleTimeout, 'idleTimeout');
    this.scope = { groupId: options.groupId, topic: options.topic };
    this.lateLog = new LateEventLog(options.topic, (m) => this.warn(m), options.onLate);
    this.grace = ms(options.windows.grace ?? 0, 'windows.grace');
    this.commitMs = ms(options.commitInterval ?? 1000, 'commitInterval');
    this.sessionMs = ms(options.sessionTimeout ?? 10_000, 'sessionTimeout');
    this.rejoinAttempts = options.rejoinAttempts ?? REJOIN_ATTEMPTS;
    if (!Number.isSafeInteger(this.rejoinAttempts) || this.rejoinAttempts < 0) throw new TickflowError('INVALID_ARGUMENT', `rejoinAttempts must be a whole number ≥ 0, got ${String(options.rejoinAttempts)}`);
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
    const idle = parts.filter((p) => this.gen!.parts.get(p)!.idle);
    return { ...this.counts, partitions: parts, lag, late: this.lateLog.count, lastLate: this.lateLog.last, idle };
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
    // kafkajs restarts its consumer only after retriable errors; a group
    // request the broker refuses outright (e.g. INVALID_REQUEST to a SyncGroup
    // that arrived before the leader's) leaves it stopped for good, out of the
    // group, while this run would wait forever. Such a crash drops the window
    // state (the partitions are someone else's now, or ours again after the
    // rejoin, restored from the commits and checkpoints like any rebalance)
    // and joins again with a new kafkajs consumer, with backoff.
    let crashes = 0;
    let restartTimer: NodeJS.Timeout | undefined;
    const onCrash = (error: unknown): void => {
      if (this.stopping || this.failure !== undefined) return;
      if (++crashes > this.rejoinAttempts) {
        this.fail(error, `kafkajs stopped on a non-retriable error ${crashes} time(s) in a row without a group join in between (rejoinAttempts ${this.rejoinAttempts})`);
        finish(this.failure);
        return;
      }
      const delay = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** (crashes - 1));
      this.counts.restarts++;
      this.warn(`kafka consumer stopped on a non-retriable error (${error instanceof Error ? error.message : String(error)}); its window state is dropped and it joins the group again in ${delay} ms (attempt ${crashes} of at most ${this.rejoinAttempts} in a row)`);
      this.rebalancing = true;
      this.serial(() => this.dropGeneration()).catch(() => undefined);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (this.stopping || this.failure !== undefined) return;
        startClient().catch((e: unknown) => onCrash(e));
      }, delay);
    };
    // The start under way (the first, or a rejoin): stopping waits for it, so no kafkajs consumer outlives run().
    let starting: Promise<void> | undefined;
    const startClient = (): Promise<void> => {
      const p = connectClient();
      starting = p.catch(() => undefined);
      return p;
    };
    const connectClient = async (): Promise<void> => {
      const previous = this.consumer;
      if (previous !== undefined) await previous.disconnect().catch(() => undefined);
      if (this.stopping) return;
      const consumer = this.kafka.consumer({ groupId: this.options.groupId, sessionTimeout: this.sessionMs, heartbeatInterval: Math.max(100, Math.floor(this.sessionMs / 10)), rebalanceTimeout: Math.max(this.sessionMs, 10_000), maxWaitTimeInMs: 100, maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1_048_576, allowAutoTopicCreation: false, retry: { retries: 10 }, partitionAssigners: [roundRobinWithHeadStart] });
      this.consumer = consumer;
      consumer.on(consumer.events.REBALANCING, () => {
        this.rebalancing = true;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        if (this.consumer !== consumer) return;
        crashes = 0;
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
        if (this.consumer === consumer && !e.payload.restart) onCrash(e.payload.error);
      });
      await consumer.connect();
      if (this.stopping) return void (await consumer.disconnect().catch(() => undefined));
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
    };
    const onAbort = (): void => finish();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    const tick = setInterval(() => {
      if (this.gen === undefined || this.stopping) return;
      const now = Date.now();
      try {
        tickTraced(this.gen.jobs, now);
      } catch (e) {
        this.fail(e, 'a job failed on a wall-clock tick');
      }
      if (this.failure) finish(this.failure);
      else {
        this.checkIdle(now);
        // When the batches stop (the topic is read to its end), what was read is still committed.
        if (this.dirty && this.tickCommit === undefined && !this.paused && now - this.lastCommitAt >= this.commitMs) {
          this.tickCommit = this.serial(() => (this.dirty && !this.stopping && Date.now() - this.lastCommitAt >= this.commitMs ? this.commit(this.watermark(), run, this.lastHeartbeat) : Promise.resolve()))
            .catch((e: unknown) => {
              if (isRebalanceError(e)) return;
              this.fail(e, 'committing failed');
              finish(this.failure);
            })
            .finally(() => {
              this.tickCommit = undefined;
            });
        }
      }
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
      await startClient();
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
      clearTimeout(restartTimer);
      run.signal?.removeEventListener('abort', onAbort);
      await this.consumer?.disconnect().catch(() => undefined);
      await starting;
      await this.consumer?.disconnect().catch(() => undefined);
      await this.producer?.disconnect().catch(() => undefined);
      await this.admin.disconnect().catch(() => undefined);
    }
    if (this.failure) throw this.failure;
    return this.stats;
  }

  /**
   * After the kafkajs consumer stopped (it left the group): hands on what the
   * jobs already fired (idempotent) and drops the window state, uncommitted;
   * the next assignment rebuilds it from the commits and checkpoints.
   */
  private async dropGeneration(): Promise<void> {
    const old = this.gen;
    this.gen = undefined;
    this.pendingAssignment = undefined;
    this.dirty = false;
    this.lastCommitted.clear();
    if (old !== undefined) for (const job of old.jobs) await job.flush().catch(() => undefined);
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

  /**
   * Drops all window state and starts jobs for the new assignment: from each
   * partition's checkpoint when there is one (state restored, reading resumes
   * at its offset), else from the committed offset.
   */
  private async rebuild(assigned: number[], run: KafkaRunOptions<T>): Promise<void> {
    this.counts.assignments++;
    const old = this.gen;
    this.gen = undefined;
    // What the old jobs emitted fired on their watermark: complete, so hand it on (harmless, idempotent).
    if (old !== undefined) for (const job of old.jobs) await job.flush().catch(() => undefined);
    const topic = this.options.topic;
    const [committed, ends, saved] = await Promise.all([
      this.admin!.fetchOffsets({ groupId: this.options.groupId, topics: [topic] }),
      this.admin!.fetchTopicOffsets(topic),
      this.options.checkpoints === undefined ? new Map<number, { offset: number; data: Uint8Array }>() : loadCheckpoints(this.options.checkpoints, this.scope, assigned, { warn: this.warn, stopping: () => this.stopping }),
    ]);
    const jobs = run.jobs();
    this.checkJobs(jobs);
    const parts: Generation<T>['parts'] = new Map();
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p]));
    const lows = new Map(ends.map((e) => [e.partition, Number(e.low)]));
    this.lastCommitted.clear();
    const now = Date.now();
    const seeks: { partition: number; offset: number }[] = [];
    // Every partition's input exists before any is restored: a restore advances the watermark to the
    // minimum over the inputs, and with the later partitions not yet registered that minimum would be
    // the first partition's alone, firing (and purging) the windows of partitions restored after it.
    const inputsOf = assigned.map((_, i) => jobs.map((job) => (i === 0 ? 0 : job.addInput())));
    assigned.forEach((partition, i) => {
      const inputs = inputsOf[i]!;
      const c = byPartition.get(partition);
      const hasCommit = c !== undefined && Number(c.offset) >= 0;
      const low = lows.get(partition) ?? 0;
      let offset = hasCommit ? Number(c.offset) : low;
      if (hasCommit) this.lastCommitted.set(partition, offset);
      const meta = decodeCommitMetadata(c?.metadata);
      const cp = saved.get(partition);
      let maxTs = Number.NEGATIVE_INFINITY;
      let checkpointed = -1;
      const restoredWatermark = meta.watermark;
      let progress: PartitionProgress | undefined;
      if (cp !== undefined) {
        const state = decodePartitionCheckpoint(topic, partition, cp.data);
        if (state.jobs.length !== jobs.length) {
          throw new TickflowError('CHECKPOINT_FAILED', `the checkpoint of ${topic}[${partition}] holds ${state.jobs.length} jobs, the consumer runs ${jobs.length}; restore with the same jobs, or use a new consumer group`);
        }
        jobs.forEach((job, j) => job.restore(inputs[j]!, state.jobs[j]!));
        maxTs = state.maxTs;
        if (cp.offset < low) this.warn(`${topic}[${partition}]: its checkpoint is at offset ${cp.offset} but the topic now starts at ${low}; messages ${cp.offset}..${low - 1} were deleted by retention and are missing from the windows`);
        if (cp.offset !== offset) seeks.push({ partition, offset: cp.offset });
        offset = cp.offset;
        checkpointed = cp.offset;
        progress = PartitionProgress.from({ ...state.progress, next: cp.offset });
        this.counts.restored++;
      } else if (meta.checkpointed) {
        // The checkpoint is gone (another machine's files, a wiped store): replay exactly from the safe
        // offset, skipping what was durable by the committed watermark. Slower, never wrong.
        const safe = Math.max(meta.safe ?? offset, low);
        this.warn(`${topic}[${partition}]: committed at ${offset} with a checkpoint, but ${this.options.checkpoints?.describe ?? 'no checkpoint store'} has none; replaying from the safe offset ${safe} (${offset - safe} messages) to rebuild its open windows`);
        if (safe !== offset) seeks.push({ partition, offset: safe });
        offset = safe;
      }
      parts.set(partition, { inputs, progress: progress ?? new PartitionProgress(offset, restoredWatermark), maxTs, lastMessageAt: now, idle: false, checkpointed });
    });
    for (const e of ends) this.highWatermarks.set(e.partition, Number(e.high));
    this.gen = { jobs, parts };
    for (const s of seeks) this.consumer!.seek({ topic, partition: s.partition, offset: String(s.offset) });
  }

  /** Refuses jobs whose own timing would turn on-time Kafka data late, and learns their out-of-orderness. */
  private checkJobs(jobs: readonly Job<T, unknown>[]): void {
    let ooo = Number.POSITIVE_INFINITY;
    for (const job of jobs) {
      const t = job.eventTime;
      if (t.idleTimeout !== undefined) {
        throw new TickflowError('INVALID_ARGUMENT', `job "${job.name}" sets idleTimeout; with kafkaConsumer set idleTimeout on the consumer instead (a partition counts as idle only when it is read to its end, never while the consumer is busy or paused)`);
      }
      if (t.wallClockLag !== undefined) {
        throw new TickflowError('INVALID_ARGUMENT', `job "${job.name}" sets wallClockLag; with kafkaConsumer windows close on event time only (a backlog or a replay would otherwise be counted late)`);
      }
      if (t.outOfOrderness < ooo) ooo = t.outOfOrderness;
    }
    this.ooo = ooo === Number.POSITIVE_INFINITY ? 0 : ooo;
  }

  /**
   * Marks partitions idle that are read to their end (checked with the
   * broker) and quiet for `idleTimeout`; never while paused or rebalancing.
   */
  private checkIdle(now: number): void {
    const idleMs = this.idleMs;
    const gen = this.gen;
    if (idleMs === undefined || gen === undefined || this.paused || this.rebalancing || this.pendingAssignment !== undefined || this.idleCheck !== undefined) return;
    // Active, quiet for the timeout, and read to the high watermark last known for it.
    const quiet = (p: number, st: PartitionState, at: number): boolean => !st.idle && at - st.lastMessageAt >= idleMs && st.progress.next >= (this.highWatermarks.get(p) ?? 0);
    let candidates = false;
    for (const [p, st] of gen.parts) {
      if (quiet(p, st, now)) {
        candidates = true;
        break;
      }
    }
    if (!candidates || now - this.lastIdleCheckAt < Math.min(1000, idleMs)) return;
    this.lastIdleCheckAt = now;
    // In the batch lock: the broker's high watermarks are read right before deciding, with no batch in between.
    this.idleCheck = this.serial(async () => {
      if (this.gen !== gen || this.paused || this.rebalancing || this.stopping) return;
      const ends = await this.admin!.fetchTopicOffsets(this.options.topic);
      for (const e of ends) this.highWatermarks.set(e.partition, Number(e.high));
      const at = Date.now();
      for (const [p, st] of gen.parts) {
        if (!quiet(p, st, at)) continue;
        st.idle = true;
        this.dirty = true;
        this.counts.idled++;
        for (let j = 0; j < gen.jobs.length; j++) gen.jobs[j]!.markIdle(st.inputs[j]!);
      }
    })
      .catch((e: unknown) => this.warn(`idle check failed (${e instanceof Error ? e.message : String(e)}); partitions stay active`))
      .finally(() => {
        this.idleCheck = undefined;
      });
  }

  private async onBatch({ batch, isStale, isRunning, heartbeat, pause }: EachBatchPayload, run: KafkaRunOptions<T>): Promise<void> {
    if (this.stopping || this.failure || !isRunning() || isStale()) return;
    await this.applyAssignment(run);
    const gen = this.gen;
    if (gen === undefined) return;
    const part = gen.parts.get(batch.partition);
    if (part === undefined || batch.messages.length === 0) return;
    this.lastMessageAt = Date.now();
    part.lastMessageAt = this.lastMessageAt;
    // The jobs' trackers reactivate an idle input on its next event.
    part.idle = false;
    this.highWatermarks.set(batch.partition, Number(batch.highWatermark));
    const progress = part.progress;
    const skipBefore = progress.restoredWatermark;
    const events: T[] = [];
    // Own-partition lateness, judged as the window stages judge it (smallest window, grace, out-of-orderness).
    const size = this.minSize;
    const lateAfter = this.grace + this.ooo;
    let maxTs = part.maxTs;
    let ownLate = 0;
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
      const ts = this.tsOf(event);
      const c = this.closeAt(ts);
      if (c <= skipBefore) {
        this.counts.skippedReplayed++;
        continue;
      }
      if (ts > maxTs) maxTs = ts;
      else if (maxTs - lateAfter >= Math.floor(ts / size) * size + size) {
        ownLate++;
        this.lateLog.note({ partition: batch.partition, offset, ts, watermark: maxTs - this.ooo });
      }
      if (c > closeAt) closeAt = c;
      events.push(event);
    }
    part.maxTs = maxTs;
    if (first < 0) return;
    this.dirty = true;
    this.lastHeartbeat = heartbeat;
    if (dead !== undefined) await this.deadLetter(dead);
    progress.add(first, next, closeAt);
    let span: TraceSpan | undefined;
    if (events.length !== 0) {
      this.counts.events += events.length;
      // Tracing costs one read per batch when off; when on, one consumer span and one windows span per fetched batch (batchTrace.ts).
      const tracer = currentTracer();
      if (tracer === undefined) this.pushEvents(gen, part, batch, events, first, next, ownLate);
      else span = traceBatch(tracer, batch, first, next, events.length, gen.jobs, () => this.pushEvents(gen, part, batch, events, first, next, ownLate));
    }
    try {
      await this.handOver(gen, batch, pause, heartbeat);
    } finally {
      span?.end();
    }
    if (this.rejoin === undefined && Date.now() - this.lastCommitAt >= this.commitMs) await this.commit(this.watermark(), run, heartbeat);
    // Throws kafkajs's rebalance errors (from the commit or the heartbeat) on to kafkajs, which rejoins.
    const rejoin = this.rejoin;
    this.rejoin = undefined;
    if (rejoin !== undefined) throw rejoin;
    await heartbeat();
  }

  /** Pushes a batch's events into every job (the partition's input of each), and warns about events late only on the pipeline. */
  private pushEvents(gen: Generation<T>, part: PartitionState, batch: Batch, events: T[], first: number, next: number, ownLate: number): void {
    let lateOnPipeline = 0;
    for (let j = 0; j < gen.jobs.length; j++) {
      const job = gen.jobs[j]!;
      const before = job.stats.late;
      job.pushBatch(events, part.inputs[j]!);
      const n = job.stats.late - before;
      if (n > lateOnPipeline) lateOnPipeline = n;
    }
    if (lateOnPipeline > ownLate) {
      this.warn(`${lateOnPipeline - ownLate} events of ${batch.topic}[${batch.partition}] offsets ${first}..${next - 1} were on time in their partition but their windows had closed: the partition had been idle (quiet for idleTimeout) while others advanced; they went to the jobs' late output`);
    }
  }

  /** Waits until the jobs' outputs took everything; pauses the partitions while a sink pushes back. */
  /** Awaits `p` heartbeating the group; false when a rebalance made it give up (`this.rejoin` holds the error). */
  private heartbeating(p: Promise<unknown>, heartbeat: (() => Promise<void>) | undefined): Promise<boolean> {
    return withHeartbeats(p, heartbeat, Math.max(100, Math.floor(this.sessionMs / 5)), (e) => {
      this.rejoin ??= e;
    });
  }

  private async handOver(gen: Generation<T>, _batch: Batch, pause: () => () => void, heartbeat?: () => Promise<void>): Promise<void> {
    let settled = false;
    const all = Promise.all(gen.jobs.map((j) => j.flush())).finally(() => {
      settled = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    if (!settled) {
      this.counts.pauses++;
      const resume = pause();
      this.paused = true;
      try {
        await this.heartbeating(all, heartbeat);
      } finally {
        this.paused = false;
        // Waiting was not quiet: no partition counts the pause toward idleness.
        const now = Date.now();
        for (const st of gen.parts.values()) if (st.lastMessageAt < now) st.lastMessageAt = now;
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
   * Makes everything emitted durable, then commits. With checkpoints: stores
   * each partition's window state at its next offset, then commits those
   * offsets. Without: commits, per partition, the first offset of the oldest
   * batch with an open window at watermark `wm` (`+Infinity`, end of stream,
   * commits everything read).
   */
  private async commit(wm: number, run?: KafkaRunOptions<T>, heartbeat?: () => Promise<void>): Promise<void> {
    const gen = this.gen;
    if (gen === undefined) return;
    this.lastCommitAt = Date.now();
    this.dirty = false;
    // A rebalance during a wait: nothing is durable yet, so nothing may be checkpointed or committed.
    if (!(await this.heartbeating(Promise.all(gen.jobs.map((job) => job.flush())), heartbeat))) {
      this.dirty = true;
      return;
    }
    // A store that holds the flush back is backpressure: no partition turns idle meanwhile.
    this.paused = true;
    try {
      if (!(await this.heartbeating(Promise.resolve(run?.durable?.()), heartbeat))) {
        this.dirty = true;
        return;
      }
    } finally {
      this.paused = false;
      const now = Date.now();
      for (const st of gen.parts.values()) if (st.lastMessageAt < now) st.lastMessageAt = now;
    }
    const offsets: { topic: string; partition: number; offset: string; metadata: string; watermark: number }[] = [];
    const store = this.options.checkpoints;
    if (store !== undefined && !this.checkpointsOff) {
      if (!(await this.checkpoint(gen, store))) {
        this.dirty = true;
        return;
      }
    }
    const checkpointed = store !== undefined && !this.checkpointsOff;
    for (const [partition, { progress }] of gen.parts) {
      const safe = progress.committable(wm);
      const offset = checkpointed ? progress.next : safe;
      if (this.lastCommitted.get(partition) === offset) continue;
      const stored = wm === Number.POSITIVE_INFINITY ? progress.commitWatermark(progress.maxCloseAt) : progress.commitWatermark(wm);
      offsets.push({ topic: this.options.topic, partition, offset: String(offset), metadata: encodeCommitMetadata(stored, checkpointed ? safe : undefined), watermark: stored });
    }
    if (offsets.length === 0) return;
    try {
      await this.consumer!.commitOffsets(offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata })));
    } catch (e) {
      // A rebalance is under way: the next owner re-reads from the last commit (or checkpoint), which is safe.
      if (isRebalanceError(e)) this.rejoin = e;
      else this.dirty = true;
      this.warn(`offset commit failed (${e instanceof Error ? e.message : String(e)}); the partitions resume from the previous commit or checkpoint`);
      return;
    }
    this.counts.commits++;
    for (const o of offsets) this.lastCommitted.set(o.partition, Number(o.offset));
    this.options.onCommit?.(offsets.map((o) => ({ partition: o.partition, offset: Number(o.offset), watermark: o.watermark })));
  }

  /**
   * Stores the window state of every partition that moved since its last
   * checkpoint. False when the store failed (nothing is committed then). A
   * state that cannot be split by partition (a key on several partitions)
   * turns checkpoints off for good, with a warning, and deletes this group's
   * checkpoints so no restart resumes from a stale one.
   */
  private async checkpoint(gen: Generation<T>, store: CheckpointStore): Promise<boolean> {
    const topic = this.options.topic;
    const cps: { partition: number; offset: number; data: Uint8Array | null }[] = [];
    try {
      for (const [partition, st] of gen.parts) {
        if (st.checkpointed === st.progress.next) continue;
        const state: PartitionCheckpoint = { v: 1, topic, partition, offset: st.progress.next, maxTs: st.maxTs, progress: st.progress.state(), jobs: gen.jobs.map((j, i) => j.snapshot(st.inputs[i]!)) };
        cps.push({ partition, offset: st.progress.next, data: encodePartitionCheckpoint(state) });
      }
    } catch (e) {
      if (!(e instanceof TickflowError && e.code === 'CHECKPOINT_FAILED')) throw e;
      this.checkpointsOff = true;
      this.warn(`checkpoints are off from now on: ${e.message}. Offsets are committed only once the largest window closed, so a restart re-reads that far`);
      await store.save(this.scope, [...gen.parts.keys()].map((partition) => ({ partition, offset: 0, data: null }))).catch(() => undefined);
      return true;
    }
    if (cps.length === 0) return true;
    try {
      await store.save(this.scope, cps);
    } catch (e) {
      this.warn(`storing checkpoints in ${store.describe} failed (${e instanceof Error ? e.message : String(e)}); offsets stay at the previous checkpoint`);
      return false;
    }
    this.counts.checkpoints += cps.length;
    for (const c of cps) gen.parts.get(c.partition)!.checkpointed = c.offset;
    return true;
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
