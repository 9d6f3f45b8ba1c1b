import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Admin, Batch, EachBatchPayload } from 'kafkajs';
import { ms } from '../duration.js';
import type { TickflowError } from '../errors.js';
import { toTickflowError } from '../errors.js';
import type { Trade } from '../events/trade.js';
import type { CheckpointScope } from './checkpointStore.js';
import { isRebalanceError, withHeartbeats } from './groupHeartbeats.js';
import type { KafkaConsumerOptions, KafkaConsumerStats, KafkaRunOptions } from './kafkaConsumerOptions.js';
import { LateEventLog } from './lateEventLog.js';
import { traceBatch } from './batchTrace.js';
import { currentTracer, tickTraced } from '../tracing/tracer.js';
import type { TraceSpan } from '../tracing/tracer.js';
import { loadCheckpoints } from './partitionCheckpoint.js';
import { BatchReader, pushToJobs } from './batchReader.js';
import type { DeadLetterMessage } from './batchReader.js';
import { consumerSettings } from './consumerSettings.js';
import type { ConsumerSettings } from './consumerSettings.js';
import { DeadLetterOutput } from './deadLetterOutput.js';
import { GroupMember } from './groupMember.js';
import { IdlePartitions } from './idlePartitions.js';
import { checkKafkaJobs } from './kafkaJobChecks.js';
import { OffsetCommitter } from './offsetCommitter.js';
import { assignPartitions } from './partitionAssignment.js';
import type { Generation, PartitionState } from './partitionAssignment.js';

export { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from './kafkaConsumerOptions.js';
export type { KafkaConsumerOptions, KafkaConsumerStats, KafkaLateEvent, KafkaRunOptions } from './kafkaConsumerOptions.js';

// The consumer's parts, one concept a file: consumerSettings.ts (options → settings), groupMember.ts
// (group membership, restarts after kafkajs stops; headStartAssigner.ts), partitionAssignment.ts (a new
// assignment's partitions from commits and checkpoints; kafkaJobChecks.ts), batchReader.ts (a batch into
// events, dead letters, late events; deadLetterOutput.ts), idlePartitions.ts (when a partition turns
// idle), offsetCommitter.ts (checkpoints, then offsets, once durable). This class wires them: the batch
// lock, hand-over with backpressure, commits (prepared at an instant, finished once durable while the
// consumer reads on), and run()'s lifecycle.

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
 * - a commit does not stop the reading: it is prepared at one instant (state
 *   and offsets), and stored and committed once what was emitted before that
 *   instant is durable;
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
  private readonly s: ConsumerSettings<T>;
  private readonly warn: (m: string) => void;
  private readonly reader: BatchReader<T>;
  private readonly deadLetters: DeadLetterOutput;
  private readonly committer: OffsetCommitter;
  /** Present with `idleTimeout`. */
  private readonly idle: IdlePartitions | undefined;
  private member: GroupMember | undefined;
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
  /** The commit waiting for durability while the consumer reads on (at most one). */
  private inflight: Promise<void> | undefined;
  /** Ends run() with the consumer's failure (set while run() is under way). */
  private finishRun: ((e?: unknown) => void) | undefined;
  /** Between kafkajs noticing a rebalance and the new assignment: not idle, whatever the partitions say. */
  private rebalancing = false;
  private readonly highWatermarks = new Map<number, number>();
  private readonly counts = { messages: 0, events: 0, deadLetters: 0, skippedReplayed: 0, commits: 0, assignments: 0, pauses: 0, checkpoints: 0, restored: 0, idled: 0, restarts: 0 };
  /** True while the consumer waits for a sink (partitions paused): no partition turns idle then. */
  private paused = false;
  private readonly lateLog: LateEventLog;
  private readonly scope: CheckpointScope;

  constructor(private readonly options: KafkaConsumerOptions<T>) {
    this.s = consumerSettings(options);
    this.warn = this.s.warn;
    this.scope = { groupId: options.groupId, topic: options.topic };
    this.lateLog = new LateEventLog(options.topic, (m) => this.warn(m), options.onLate);
    this.reader = new BatchReader(this.s, this.lateLog, this.counts);
    this.kafka = new Kafka({ clientId: options.clientId ?? 'tickflow', brokers: [...options.brokers], logLevel: kafkaLogLevel.NOTHING });
    this.deadLetters = new DeadLetterOutput(this.kafka, options.deadLetterTopic, this.warn);
    this.committer = new OffsetCommitter({ topic: options.topic, scope: this.scope, store: options.checkpoints, commitOffsets: (offsets) => this.member!.consumer!.commitOffsets(offsets), onCommit: options.onCommit, warn: this.warn, counts: this.counts });
    const idleMs = this.s.idleMs;
    this.idle = idleMs === undefined ? undefined : new IdlePartitions({ idleMs, highWatermarks: this.highWatermarks, lock: (fn) => this.serial(fn), fetchEnds: () => this.admin!.fetchTopicOffsets(options.topic), warn: this.warn });
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
    return this.reader.closeAt(ts);
  }

  /**
   * Joins the group and consumes until `signal` aborts or, with
   * `endWhenIdle`, until the assigned partitions are read to their end.
   * Rejects with a TickflowError when a job or the client fails.
   */
  async run(run: KafkaRunOptions<T>): Promise<KafkaConsumerStats> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.deadLetters.connect();
    let finish!: (e?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = (e?: unknown) => (e === undefined ? resolve() : reject(e));
    });
    this.finishRun = finish;
    const member = new GroupMember(
      { kafka: this.kafka, groupId: this.options.groupId, topic: this.options.topic, sessionMs: this.s.sessionMs, maxBytesPerPartition: this.options.maxBytesPerPartition, rejoinAttempts: this.s.rejoinAttempts },
      {
        stopping: () => this.stopping,
        halted: () => this.stopping || this.failure !== undefined,
        rebalancing: () => {
          this.rebalancing = true;
        },
        joined: (assignment) => {
          this.rebalancing = false;
          this.pendingAssignment = assignment;
          // Rebuild now, not on the next batch: partitions read to their end send no batch.
          this.serial(() => this.applyAssignment(run)).catch((err: unknown) => {
            this.fail(err, 'rebuilding the jobs after a rebalance failed');
            finish(this.failure);
          });
        },
        // kafkajs stopped for good (groupMember.ts): the window state is dropped (the partitions are someone
        // else's now, or ours again after the rejoin, restored from the commits and checkpoints like any rebalance).
        restarting: (error, delay, attempt) => {
          this.counts.restarts++;
          this.warn(`kafka consumer stopped on a non-retriable error (${error instanceof Error ? error.message : String(error)}); its window state is dropped and it joins the group again in ${delay} ms (attempt ${attempt} of at most ${this.s.rejoinAttempts} in a row)`);
          this.rebalancing = true;
          this.serial(() => this.dropGeneration()).catch(() => undefined);
        },
        gaveUp: (error, crashes) => {
          this.fail(error, `kafkajs stopped on a non-retriable error ${crashes} time(s) in a row without a group join in between (rejoinAttempts ${this.s.rejoinAttempts})`);
          finish(this.failure);
        },
        batch: (payload) =>
          this.serial(() => this.onBatch(payload, run)).catch((e: unknown) => {
            // kafkajs rejoins on these; GROUP_JOIN then rebuilds the jobs on the new assignment.
            if (isRebalanceError(e)) {
              if (this.stopping) return;
              throw e;
            }
            this.fail(e, 'processing a batch failed');
            finish(this.failure);
          }),
      },
    );
    this.member = member;
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
        if (this.dirty && this.tickCommit === undefined && this.inflight === undefined && !this.paused && now - this.lastCommitAt >= this.s.commitMs) {
          this.tickCommit = this.serial(async () => {
            if (this.dirty && !this.stopping && this.inflight === undefined && Date.now() - this.lastCommitAt >= this.s.commitMs) this.startCommit(run);
          })
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
      await member.start();
      if (run.signal?.aborted) finish();
      await done;
      this.stopping = true;
      // A commit under way finishes first (its finish takes the batch lock).
      await this.inflight;
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
      await member.stop();
      await this.deadLetters.disconnect();
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
    this.committer.lastCommitted.clear();
    this.committer.lastWatermark.clear();
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
   * Drops all window state and starts jobs for the new assignment
   * (partitionAssignment.ts: from each partition's checkpoint when there is
   * one, else from the committed offset), then seeks the partitions whose
   * reading does not resume at the committed offset.
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
    this.reader.ooo = checkKafkaJobs(jobs);
    this.committer.lastWatermark.clear();
    const { parts, seeks } = assignPartitions({
      topic,
      assigned,
      jobs,
      committed: committed[0]?.partitions ?? [],
      ends,
      saved,
      storeName: this.options.checkpoints?.describe,
      lastCommitted: this.committer.lastCommitted,
      warn: this.warn,
      onRestored: () => {
        this.counts.restored++;
      },
    });
    for (const e of ends) this.highWatermarks.set(e.partition, Number(e.high));
    this.gen = { jobs, parts };
    for (const s of seeks) this.member!.consumer!.seek({ topic, partition: s.partition, offset: String(s.offset) });
  }

  /** Marks partitions idle that are read to their end and quiet for `idleTimeout` (idlePartitions.ts); never while paused or rebalancing. */
  private checkIdle(now: number): void {
    const gen = this.gen;
    if (this.idle === undefined || gen === undefined || this.paused || this.rebalancing || this.pendingAssignment !== undefined) return;
    this.idle.check(
      now,
      gen.parts,
      () => this.gen === gen && !this.paused && !this.rebalancing && !this.stopping,
      (st) => {
        this.dirty = true;
        this.counts.idled++;
        for (let j = 0; j < gen.jobs.length; j++) gen.jobs[j]!.markIdle(st.inputs[j]!);
      },
    );
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
    const { events, dead, first, next, maxTs, ownLate, closeAt } = this.reader.read(batch, progress, part.maxTs);
    part.maxTs = maxTs;
    if (first < 0) return;
    this.dirty = true;
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
    if (this.rejoin === undefined && this.inflight === undefined && Date.now() - this.lastCommitAt >= this.s.commitMs) this.startCommit(run);
    // Throws kafkajs's rebalance errors (from the commit or the heartbeat) on to kafkajs, which rejoins.
    const rejoin = this.rejoin;
    this.rejoin = undefined;
    if (rejoin !== undefined) throw rejoin;
    await heartbeat();
  }

  /** Pushes a batch's events into every job (the partition's input of each), and warns about events late only on the pipeline. */
  private pushEvents(gen: Generation<T>, part: PartitionState, batch: Batch, events: T[], first: number, next: number, ownLate: number): void {
    const lateOnPipeline = pushToJobs(gen.jobs, part.inputs, events);
    if (lateOnPipeline > ownLate) {
      this.warn(`${lateOnPipeline - ownLate} events of ${batch.topic}[${batch.partition}] offsets ${first}..${next - 1} were on time in their partition but their windows had closed: the partition had been idle (quiet for idleTimeout) while others advanced; they went to the jobs' late output`);
    }
  }

  /** Awaits `p` heartbeating the group; false when a rebalance made it give up (`this.rejoin` holds the error). */
  private heartbeating(p: Promise<unknown>, heartbeat: (() => Promise<void>) | undefined): Promise<boolean> {
    return withHeartbeats(p, heartbeat, Math.max(100, Math.floor(this.s.sessionMs / 5)), (e) => {
      this.rejoin ??= e;
    });
  }

  /** Waits until the jobs' outputs took everything; pauses the partitions while a sink pushes back. */
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

  /** Counts bad messages and hands them to the dead-letter output (awaited: never committed past before it took them). */
  private async deadLetter(messages: DeadLetterMessage[]): Promise<void> {
    this.counts.deadLetters += messages.length;
    await this.deadLetters.send(messages);
  }

  /**
   * Starts a commit without holding up the batches: hands every job's
   * pending outputs to the sinks and prepares the checkpoints and offsets of
   * this instant (offsetCommitter.ts), then, in the background, waits until
   * the jobs' outputs took everything and `durable()` resolved (the sinks'
   * flush covers what they held when it was called, so everything emitted
   * before the prepare) and stores and commits what was prepared, under the
   * batch lock and only if the assignment did not change meanwhile. Events
   * read meanwhile are committed by the next commit. Called under the batch
   * lock.
   */
  private startCommit(run: KafkaRunOptions<T>): void {
    const gen = this.gen;
    if (gen === undefined) return;
    this.lastCommitAt = Date.now();
    this.dirty = false;
    // flush() delivers the jobs' pending outputs synchronously, before the state is taken.
    const flushed = Promise.all(gen.jobs.map((job) => job.flush()));
    // Awaited below; this keeps a job failure from going unhandled if prepare throws.
    flushed.catch(() => undefined);
    const prepared = this.committer.prepare(gen, this.watermark());
    const inflight = (async () => {
      await flushed;
      await run.durable?.();
      await this.serial(async () => {
        if (this.gen !== gen || this.stopping) {
          // Rebuilt (a rebalance) or stopping: the new jobs or the final commit take over.
          return;
        }
        const outcome = await this.committer.finish(prepared);
        if (outcome === 'retry') this.dirty = true;
        else if (outcome !== 'done') this.rejoin = outcome.rejoin;
      });
    })()
      .catch((e: unknown) => {
        if (this.gen === gen) this.dirty = true;
        if (isRebalanceError(e) || this.stopping) return;
        this.fail(e, 'committing failed');
        this.finishRun?.(this.failure);
      })
      .finally(() => {
        if (this.inflight === inflight) this.inflight = undefined;
      });
    this.inflight = inflight;
  }

  /**
   * Makes everything emitted durable (flushes the jobs, awaits `durable()`),
   * then checkpoints and commits (offsetCommitter.ts) at watermark `wm`
   * (`+Infinity`, end of stream, commits everything read). What is not
   * committed leaves the consumer dirty, to be committed again.
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
    const outcome = await this.committer.commit(gen, wm);
    if (outcome === 'retry') this.dirty = true;
    else if (outcome !== 'done') this.rejoin = outcome.rejoin;
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
