import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRestartableRedis } from '@tickflow/test-services';
import type { RestartableRedis } from '@tickflow/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';

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
    const starting = startReferenceServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', jwtSecret: 'test-secret-test-secret-test-secret!', dataDir: dir, redisUrl: redis.url });
    let started = false;
    void starting.then(() => (started = true), () => (started = true));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(started).toBe(false);
    await redis.restart();
    server = await starting;
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string; mode: string };
    expect(health).toMatchObject({ status: 'ok', mode: 'full' });
  }, 120_000);
});
