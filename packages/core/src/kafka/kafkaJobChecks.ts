import { TickflowError } from '../errors.js';
import type { Job } from '../pipeline.js';

/**
 * Refuses jobs whose own timing would turn on-time Kafka data late (their
 * own idleTimeout or wallClockLag: with the Kafka consumer it decides
 * idleness, and windows close on event time only) and returns their
 * smallest out-of-orderness (0 without jobs), which the consumer judges
 * own-partition lateness with.
 */
export function checkKafkaJobs<T>(jobs: readonly Job<T, unknown>[]): number {
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
  return ooo === Number.POSITIVE_INFINITY ? 0 : ooo;
}
