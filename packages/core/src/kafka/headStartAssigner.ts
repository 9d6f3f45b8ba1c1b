import { PartitionAssigners } from 'kafkajs';
import type { PartitionAssigner } from 'kafkajs';

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
export const roundRobinWithHeadStart: PartitionAssigner = (config) => {
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
