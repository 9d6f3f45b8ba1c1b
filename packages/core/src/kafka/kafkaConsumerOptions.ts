import type { Duration } from '../duration.js';
import type { InvalidEvent, Trade } from '../events/trade.js';
import type { Job } from '../pipeline.js';
import type { CheckpointStore } from './checkpointStore.js';
import type { KafkaValueFormat } from './kafkaValueCodec.js';

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
  /**
   * How many times in a row the consumer joins the group again after kafkajs
   * stopped on a non-retriable error (kafkajs itself restarts only after
   * retriable ones), backing off 0.5 s, 1 s, 2 s … up to 15 s, before run()
   * fails. A successful join resets the count. Default 8.
   */
  readonly rejoinAttempts?: number;
  /**
   * A partition read to its end (nothing behind its high watermark, checked
   * with the broker) and quiet for this long stops holding the watermark
   * until its next message. Never while the consumer is paused by a sink or
   * reading a backlog: idleness is about the topic, not the consumer. Default:
   * never (every assigned partition holds the watermark). Set it here, not on
   * the jobs: a job's own wall-clock `idleTimeout` cannot tell a quiet
   * partition from an unread one and is refused.
   */
  readonly idleTimeout?: Duration;
  /**
   * Where window state is checkpointed with the offsets (e.g.
   * `fileCheckpoints(dir)`, or `TimescaleStore.checkpoints()`): each commit
   * first stores, per partition, the jobs' state of that partition's keys
   * (`Job.snapshot`), then commits the offset it belongs to. A restart or a
   * rebalance restores it and re-reads only what came after (about one
   * `commitInterval`), whatever the largest window (1d). The topic must be
   * keyed by the window key (the symbol). Without it, offsets are committed
   * only once the largest window has closed and a restart re-reads that far.
   */
  readonly checkpoints?: CheckpointStore;
  /** Called with each event found late within its own partition (also counted and logged). */
  readonly onLate?: (late: KafkaLateEvent) => void;
  /** Called after each successful commit with the committed offsets (for metrics and tests). */
  readonly onCommit?: (offsets: readonly { readonly partition: number; readonly offset: number; readonly watermark: number }[]) => void;
  /** Called with warnings. Default console.warn. */
  readonly onWarning?: (message: string) => void;
}

/** An event that was late within its own partition (its window had closed on that partition's own watermark). */
export interface KafkaLateEvent {
  readonly partition: number;
  readonly offset: number;
  /** Event time (UTC epoch ms). */
  readonly ts: number;
  /** The partition's watermark when it arrived. */
  readonly watermark: number;
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
  /** Events late within their own partition (logged with partition and offset). */
  readonly late: number;
  /** The last late event, if any. */
  readonly lastLate: KafkaLateEvent | undefined;
  /** Checkpoints stored (one per partition and commit). */
  readonly checkpoints: number;
  /** Partitions whose state was restored from a checkpoint (over all assignments). */
  readonly restored: number;
  /** Times a partition was found idle (read to its end and quiet for `idleTimeout`). */
  readonly idled: number;
  /** Partitions idle now. */
  readonly idle: readonly number[];
  /** Times the consumer joined the group again after kafkajs stopped on a non-retriable error (e.g. a refused SyncGroup). */
  readonly restarts: number;
}

