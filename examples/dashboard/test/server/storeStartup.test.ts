import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRestartableRedis } from '@tickflow/test-services';
import type { RestartableRedis } from '@tickflow/test-services';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

describe('reference server started while a store is down', () => {
  let redis: RestartableRedis;
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-store-startup-'));
  let server: ReferenceServer | undefined;

  beforeAll(async () => {
    redis = await startRestartableRedis();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the store (a restart during an outage) instead of exiting, and serves once it is back', async () => {
    await redis.kill();
    // Its warnings show it waiting: a second failed attempt, and it has neither started nor given up.
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const starting = startReferenceServer({ port: 0, host: '127.0.0.1', jwtSecret: 'test-secret-test-secret-test-secret!', dataDir: dir, redisUrl: redis.url }, logger);
    let started = false;
    void starting.then(() => (started = true), () => (started = true));
    await until(async () => (warnings.some((w) => w.includes('is not reachable yet (attempt 2')) ? true : undefined), 'a second attempt to reach Redis', 30_000);
    expect(started).toBe(false);
    await redis.restart();
    server = await starting;
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string; mode: string };
    expect(health).toMatchObject({ status: 'ok', mode: 'full' });
  }, 120_000);
});
