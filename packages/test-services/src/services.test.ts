import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redisCommand, startPostgres, startRedis } from './index.js';

describe('test services', () => {
  it('starts a Redis server on a free loopback port and stops it', async () => {
    const redis = await startRedis({ ownServer: true });
    try {
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await redisCommand(redis.port, 'PING')).toBe('+PONG');
      expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
    } finally {
      await redis.stop();
    }
    await expect(redisCommand(redis.port, 'PING')).rejects.toThrow();
  });

  it('starts PostgreSQL 15 on a free loopback port and stops it', async () => {
    const pg = await startPostgres({ ownServer: true });
    try {
      const r = spawnSync('psql', [pg.url, '-tAc', 'select version()'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^PostgreSQL 15/);
    } finally {
      await pg.stop();
    }
    expect(spawnSync('psql', [pg.url, '-tAc', 'select 1'], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
