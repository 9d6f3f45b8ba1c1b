import { describe, expect, it } from 'vitest';
import { redisCommand, redisQuery, startRedisSentinel, startRestartableRedis, waitFor } from './index.js';

describe('startRedisSentinel', () => {
  it('starts a master, a replica and a sentinel that promotes the replica when the master is killed', async () => {
    const rs = await startRedisSentinel();
    try {
      expect(rs.sentinels).toHaveLength(1);
      expect(rs.nodes).toHaveLength(2);
      const master = await rs.masterAddress();
      expect(master.port).toBe(rs.nodes[0]!.port);
      expect(await redisCommand(master.port, 'SET k v')).toBe('+OK');
      // Replication is asynchronous: wait until the replica has the write before killing the master.
      // (WAIT would not do here: redisCommand opens a connection per command, and WAIT only waits for
      // the writes of its own connection.)
      await waitFor('the replica to receive the write', async () => (await redisQuery(rs.nodes[1]!.port, ['GET', 'k'])) === 'v', 5_000, 5);
      const old = await rs.killMaster();
      const started = Date.now();
      const promoted = await rs.waitForFailover(old);
      expect(promoted.port).toBe(rs.nodes[1]!.port);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await redisQuery(promoted.port, ['GET', 'k'])).toBe('v');
    } finally {
      await rs.stop();
    }
    for (const n of rs.nodes) expect(n.running).toBe(false);
    await expect(redisCommand(rs.sentinels[0]!.port, 'PING')).rejects.toThrow();
  });
});

describe('startRestartableRedis', () => {
  it('keeps acknowledged writes across a SIGKILL and a restart on the same port', async () => {
    const redis = await startRestartableRedis();
    try {
      expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
      await redis.kill();
      expect(redis.running).toBe(false);
      await expect(redisCommand(redis.port, 'PING')).rejects.toThrow();
      await redis.restart();
      expect(redis.running).toBe(true);
      expect(await redisQuery(redis.port, ['GET', 'k'])).toBe('v');
    } finally {
      await redis.stop();
    }
    await expect(redisCommand(redis.port, 'PING')).rejects.toThrow();
  });
});
