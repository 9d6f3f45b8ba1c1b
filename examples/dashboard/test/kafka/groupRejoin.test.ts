/**
 * kafkaConsumer across group-protocol errors that kafkajs does not retry.
 *
 * kafkajs restarts its consumer only after retriable errors; after any other
 * (here INVALID_REQUEST, Kafka error 42, to a SyncGroup, API key 14, which
 * librdkafka's mock cluster answers to a follower whose SyncGroup comes after
 * the leader's) it stops for good, out of the group. tickflow's consumer joins
 * again with a new kafkajs consumer and rebuilds its windows from the commits,
 * as after any rebalance. The refusals are injected with the mock broker's
 * `injectErrors` (packages/test-services/src/kafkaMock.ts), so each case is
 * deterministic.
 */
import type { Trade } from '@tickflow/core';
import { pipeline } from '@tickflow/core';
import { kafkaConsumer } from '@tickflow/core/kafka';
import type { KafkaConsumer } from '@tickflow/core/kafka';
import { eventually, startKafka } from '@tickflow/test-services';
import type { KafkaService } from '@tickflow/test-services';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedTrades, publishTrades } from './kafkaTestKit.js';

const SYNC_GROUP = 14;
const INVALID_REQUEST = 42;
const PARTITIONS = 4;

let kafka: KafkaService | undefined;
const trades = fixedTrades(2_000, 12, 11);

beforeAll(async () => {
  kafka = await startKafka({ ownServer: true, topics: [{ name: 'trades', partitions: PARTITIONS }] });
  await publishTrades(kafka.brokers, 'trades', trades);
}, 300_000);

afterAll(async () => {
  await kafka?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds; a member error (`failed`) ends the wait at once. */
const until = (what: string, cond: () => boolean, timeoutMs: number, failed?: () => unknown): Promise<boolean> => eventually(what, cond, { timeoutMs, intervalMs: 50, failWhen: failed });

const key = (t: Trade): string => `${t.symbol}|${t.ts}|${t.price}|${t.size}`;

/** One member of `group`: every trade it reads goes into `seen`; warnings into `warnings`. */
function member(group: string, o: { rejoinAttempts?: number } = {}) {
  const seen = new Set<string>();
  const warnings: string[] = [];
  const consumer: KafkaConsumer<Trade> = kafkaConsumer<Trade>({
    brokers: kafka!.brokers,
    topic: 'trades',
    groupId: group,
    windows: { size: '1m' },
    sessionTimeout: '6s',
    ...o,
    onWarning: (m) => warnings.push(m),
  });
  const ac = new AbortController();
  let error: unknown;
  const running = consumer
    .run({
      jobs: () => [
        pipeline<Trade>({ name: 'seen' }).to({
          write(batch: readonly Trade[]) {
            for (const t of batch) seen.add(key(t));
          },
        }),
      ],
      signal: ac.signal,
    })
    .catch((e: unknown) => {
      error = e;
    });
  return { consumer, seen, warnings, error: () => error, stop: async () => (ac.abort(), running) };
}

describe('kafkaConsumer when kafkajs stops on a non-retriable group error', () => {
  it('plain kafkajs stays stopped after a refused SyncGroup (what the rejoin is for)', async () => {
    await kafka!.injectErrors(SYNC_GROUP, INVALID_REQUEST, 1);
    const client = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING });
    const c = client.consumer({ groupId: 'plain', sessionTimeout: 6_000 });
    const crashes: { restart: boolean; error: string }[] = [];
    c.on(c.events.CRASH, (e) => crashes.push({ restart: e.payload.restart, error: e.payload.error.message }));
    let joined = 0;
    c.on(c.events.GROUP_JOIN, () => joined++);
    await c.connect();
    await c.subscribe({ topics: ['trades'], fromBeginning: true });
    await c.run({ eachBatch: async () => {} });
    await until('kafkajs to crash', () => crashes.length > 0, 30_000);
    // A bounded check on purpose: "kafkajs never joins again" has no event to wait for; 4 s is longer than
    // its retry backoff would take to rejoin.
    await sleep(4_000);
    await c.disconnect().catch(() => undefined);
    expect(crashes[0]!.restart).toBe(false);
    expect(crashes[0]!.error).toMatch(/malformed|incompatible/);
    expect(joined).toBe(0);
  }, 60_000);

  it('a lone member whose SyncGroup is refused joins again and reads every trade', async () => {
    await kafka!.injectErrors(SYNC_GROUP, INVALID_REQUEST, 1);
    const m = member('lone');
    try {
      await until('every trade to be read', () => m.seen.size === trades.length, 60_000, m.error);
      expect(m.consumer.stats.restarts).toBe(1);
      expect(m.consumer.stats.partitions).toEqual([0, 1, 2, 3]);
      expect(m.warnings.some((w) => /non-retriable error .* joins the group again/.test(w))).toBe(true);
    } finally {
      await m.stop();
    }
    expect(m.error()).toBeUndefined();
  }, 90_000);

  it('two members split the partitions when a SyncGroup of their rebalance is refused, and stop cleanly', async () => {
    const a = member('pair');
    const b = member('pair');
    try {
      await until('A to hold partitions', () => a.consumer.stats.partitions.length + b.consumer.stats.partitions.length === PARTITIONS, 60_000, () => a.error() ?? b.error());
      // Now refuse the next SyncGroup (a member's, in the rebalance the next join causes).
      await kafka!.injectErrors(SYNC_GROUP, INVALID_REQUEST, 1);
      const c = member('pair');
      try {
        await until(
          'the three members to split the partitions',
          () => {
            const all = [a, b, c].map((m) => m.consumer.stats.partitions);
            return all.every((p) => p.length > 0) && all.flat().length === PARTITIONS;
          },
          90_000,
          () => a.error() ?? b.error() ?? c.error(),
        );
        const all = [a, b, c].map((m) => m.consumer.stats.partitions).flat().sort((x, y) => x - y);
        expect(all).toEqual([0, 1, 2, 3]);
        expect(a.consumer.stats.restarts + b.consumer.stats.restarts + c.consumer.stats.restarts).toBeGreaterThanOrEqual(1);
        const union = new Set([...a.seen, ...b.seen, ...c.seen]);
        await until('every trade to be read by some member', () => new Set([...a.seen, ...b.seen, ...c.seen]).size === trades.length, 60_000);
        expect(union.size).toBeLessThanOrEqual(trades.length);
      } finally {
        await c.stop();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect([a.error(), b.error()]).toEqual([undefined, undefined]);
  }, 240_000);

  it('stops cleanly when aborted while joining again', async () => {
    await kafka!.injectErrors(SYNC_GROUP, INVALID_REQUEST, 1);
    const m = member('abort');
    await until('the first refusal', () => m.consumer.stats.restarts === 1, 30_000, m.error);
    await sleep(1_000); // timing on purpose: abort inside the 3 s the empty group takes to answer the join
    // The rejoin is under way (an empty group waits 3 s before it answers the first join).
    await m.stop();
    expect(m.error()).toBeUndefined();
    // No kafkajs consumer outlived run(): a new member of the group is alone in it, so it gets every partition.
    const probe = new Kafka({ brokers: [...kafka!.brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: 'abort', sessionTimeout: 6_000 });
    let assigned: number[] | undefined;
    probe.on(probe.events.GROUP_JOIN, (e) => {
      assigned = (e.payload.memberAssignment as Record<string, number[]>).trades ?? [];
    });
    try {
      await probe.connect();
      await probe.subscribe({ topics: ['trades'], fromBeginning: true });
      await probe.run({ eachBatch: async () => {} });
      await until('the probe to join', () => assigned !== undefined, 30_000);
      expect([...assigned!].sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
    } finally {
      await probe.disconnect();
    }
  }, 60_000);

  it('fails run() with a clear error after rejoinAttempts refusals in a row', async () => {
    await kafka!.injectErrors(SYNC_GROUP, INVALID_REQUEST, 3);
    const m = member('give-up', { rejoinAttempts: 2 });
    await until('run() to fail', () => m.error() !== undefined, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; restarts ${m.consumer.stats.restarts}, partitions ${m.consumer.stats.partitions.join(',')}; warnings: ${m.warnings.join(' | ')}`);
    });
    expect(String(m.error())).toMatch(/non-retriable error 3 time\(s\) in a row .*rejoinAttempts 2/);
    expect(m.consumer.stats.restarts).toBe(2);
    await m.stop();
  }, 90_000);
});
