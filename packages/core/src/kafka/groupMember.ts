import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { roundRobinWithHeadStart } from './headStartAssigner.js';

/** Default of KafkaConsumerOptions.rejoinAttempts. */
export const REJOIN_ATTEMPTS = 8;
/** First restart delay; doubled per consecutive crash up to RESTART_BACKOFF_MAX_MS. */
const RESTART_BACKOFF_MS = 500;
const RESTART_BACKOFF_MAX_MS = 15_000;

/** What a GroupMember needs to build its kafkajs consumers. */
export interface GroupMemberOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  /** Consumer-group session timeout (ms); the heartbeat and rebalance timeouts follow from it. */
  readonly sessionMs: number;
  readonly maxBytesPerPartition: number | undefined;
  /** Crashes in a row (without a group join in between) before it gives up. */
  readonly rejoinAttempts: number;
}

/** What a GroupMember reports to the consumer that owns it. */
export interface GroupMemberEvents {
  /** True while stopping: no new kafkajs consumer is started. */
  stopping(): boolean;
  /** True once stopping or failed: a crash is not answered with a restart. */
  halted(): boolean;
  /** kafkajs noticed a rebalance. */
  rebalancing(): void;
  /** The member joined the group with this assignment (partitions of the topic, ascending). */
  joined(assignment: number[]): void;
  /** kafkajs stopped on a non-retriable error; a new consumer joins in `delay` ms (`attempt`-th crash in a row). */
  restarting(error: unknown, delay: number, attempt: number): void;
  /** kafkajs stopped on a non-retriable error `crashes` times in a row, more than `rejoinAttempts`: the member gives up. */
  gaveUp(error: unknown, crashes: number): void;
  /** kafkajs's `eachBatch`. */
  batch(payload: EachBatchPayload): Promise<void>;
}

/**
 * The group membership of a KafkaConsumer: one kafkajs consumer at a time
 * (subscribed from the beginning, manual commits, one partition at a time,
 * the round-robin assigner with a leader head start), replaced by a new one
 * when kafkajs stops for good.
 *
 * kafkajs restarts its consumer only after retriable errors; a group
 * request the broker refuses outright (e.g. INVALID_REQUEST to a SyncGroup
 * that arrived before the leader's) leaves it stopped for good, out of the
 * group, while the consumer's run would wait forever. Such a crash is
 * reported (`restarting`: the owner drops its window state, since the
 * partitions are someone else's now, or ours again after the rejoin,
 * restored from the commits and checkpoints like any rebalance) and the
 * member joins again with a new kafkajs consumer, with backoff; after more
 * than `rejoinAttempts` crashes without a join in between it gives up.
 */
export class GroupMember {
  private current: Consumer | undefined;
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The start under way (the first, or a rejoin): stopping waits for it, so no kafkajs consumer outlives the run. */
  private starting: Promise<void> | undefined;

  constructor(
    private readonly options: GroupMemberOptions,
    private readonly events: GroupMemberEvents,
  ) {}

  /** The kafkajs consumer of the current membership (for commits and seeks). */
  get consumer(): Consumer | undefined {
    return this.current;
  }

  /** Starts a kafkajs consumer (disconnecting the previous one), joins the group and runs it. */
  start(): Promise<void> {
    const p = this.connect();
    this.starting = p.catch(() => undefined);
    return p;
  }

  /** Cancels a pending restart and disconnects, also the consumer of a start under way. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    await this.current?.disconnect().catch(() => undefined);
    await this.starting;
    await this.current?.disconnect().catch(() => undefined);
  }

  private onCrash(error: unknown): void {
    if (this.events.halted()) return;
    if (++this.crashes > this.options.rejoinAttempts) {
      this.events.gaveUp(error, this.crashes);
      return;
    }
    const delay = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** (this.crashes - 1));
    this.events.restarting(error, delay, this.crashes);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.events.halted()) return;
      this.start().catch((e: unknown) => this.onCrash(e));
    }, delay);
  }

  private async connect(): Promise<void> {
    const previous = this.current;
    if (previous !== undefined) await previous.disconnect().catch(() => undefined);
    if (this.events.stopping()) return;
    const { kafka, groupId, topic, sessionMs } = this.options;
    const consumer = kafka.consumer({ groupId, sessionTimeout: sessionMs, heartbeatInterval: Math.max(100, Math.floor(sessionMs / 10)), rebalanceTimeout: Math.max(sessionMs, 10_000), maxWaitTimeInMs: 100, maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1_048_576, allowAutoTopicCreation: false, retry: { retries: 10 }, partitionAssigners: [roundRobinWithHeadStart] });
    this.current = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      this.events.rebalancing();
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.current !== consumer) return;
      this.crashes = 0;
      const assignment = (e.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
      this.events.joined([...assignment].sort((a, b) => a - b));
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.current === consumer && !e.payload.restart) this.onCrash(e.payload.error);
    });
    await consumer.connect();
    if (this.events.stopping()) return void (await consumer.disconnect().catch(() => undefined));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => this.events.batch(payload) });
  }
}
