import type { Batch } from 'kafkajs';
import { InvalidEvent } from '../events/trade.js';
import type { Job } from '../pipeline.js';
import type { ConsumerSettings } from './consumerSettings.js';
import { DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER } from './kafkaConsumerOptions.js';
import { decodeKafkaValue, UndecodableValue } from './kafkaValueCodec.js';
import type { LateEventLog } from './lateEventLog.js';
import type { PartitionProgress } from './partitionProgress.js';

/** A message for the dead-letter topic: the original key and value, with the reason and origin in headers. */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** What one fetched batch holds for the jobs, read by BatchReader. */
export interface BatchRead<T> {
  /** The events to push, in offset order. */
  readonly events: T[];
  /** Messages that could not be decoded or parsed (undefined when none). */
  readonly dead: DeadLetterMessage[] | undefined;
  /** First offset read (−1 when every message was before the partition's position). */
  readonly first: number;
  /** The offset after the last one read. */
  readonly next: number;
  /** Max event time of the partition after the batch. */
  readonly maxTs: number;
  /** Events late within their own partition (logged). */
  readonly ownLate: number;
  /** Latest close (largest window end + grace) of the events pushed (−Infinity when none). */
  readonly closeAt: number;
}

/**
 * Turns a fetched batch into events for the jobs: decodes and parses each
 * message (what fails becomes a dead letter with the reason), skips
 * messages before the partition's position and replayed events whose
 * windows were durable by the restored watermark, and notes events late
 * within their own partition (judged as the window stages judge it:
 * smallest window, grace, out-of-orderness).
 */
export class BatchReader<T> {
  /** The jobs' out-of-orderness (set for each generation of jobs). */
  ooo = 0;

  constructor(
    private readonly settings: ConsumerSettings<T>,
    private readonly lateLog: LateEventLog,
    /** Counters of the consumer this reader adds to. */
    private readonly counts: { messages: number; skippedReplayed: number },
  ) {}

  /** When the windows of an event at `ts` have all closed (largest timeframe end + grace). */
  closeAt(ts: number): number {
    return (Math.floor(ts / this.settings.maxSize) + 1) * this.settings.maxSize + this.settings.grace;
  }

  /** Reads `batch` of a partition at `progress` whose max event time so far is `maxTs`. */
  read(batch: Batch, progress: PartitionProgress, maxTs: number): BatchRead<T> {
    const { format, parse, tsOf } = this.settings;
    const skipBefore = progress.restoredWatermark;
    const events: T[] = [];
    // Own-partition lateness, judged as the window stages judge it (smallest window, grace, out-of-orderness).
    const size = this.settings.minSize;
    const lateAfter = this.settings.grace + this.ooo;
    let ownLate = 0;
    let closeAt = Number.NEGATIVE_INFINITY;
    let dead: DeadLetterMessage[] | undefined;
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
      const decoded = decodeKafkaValue(m.value, format);
      let reason: string | undefined;
      let event: T | undefined;
      if (decoded instanceof UndecodableValue) reason = decoded.reason;
      else {
        const parsed = parse(decoded);
        if (parsed instanceof InvalidEvent) reason = parsed.reason;
        else event = parsed;
      }
      if (event === undefined) {
        (dead ??= []).push({ key: m.key, value: m.value, headers: { [DEAD_LETTER_REASON_HEADER]: reason!, [DEAD_LETTER_ORIGIN_HEADER]: `${batch.topic}/${batch.partition}/${m.offset}` } });
        continue;
      }
      const ts = tsOf(event);
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
    return { events, dead, first, next, maxTs, ownLate, closeAt };
  }
}

/**
 * Pushes a batch's events into every job (the partition's input of each,
 * `inputs[j]` for job j) and returns how many of them the jobs found late:
 * the most any one job sent to its late output.
 */
export function pushToJobs<T>(jobs: readonly Job<T, unknown>[], inputs: readonly number[], events: T[]): number {
  let lateOnPipeline = 0;
  for (let j = 0; j < jobs.length; j++) {
    const job = jobs[j]!;
    const before = job.stats.late;
    job.pushBatch(events, inputs[j]!);
    const n = job.stats.late - before;
    if (n > lateOnPipeline) lateOnPipeline = n;
  }
  return lateOnPipeline;
}
