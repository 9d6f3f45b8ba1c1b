import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startPostgres, startTimescale } from './index.js';

function psql(url: string, sql: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('psql', [url, '-tA', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { input: `SET client_min_messages = warning;\n${sql}`, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout.replace(/^SET\n/, '').trim(), stderr: r.stderr };
}

describe('startTimescale', () => {
  it('serves PGlite with the timescaledb extension on a free loopback port and stops it', async () => {
    const ts = await startTimescale({ ownServer: true });
    try {
      expect(ts.url).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
      const r = psql(ts.url, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb';");
      expect(r.stderr).not.toMatch(/ERROR/);
      expect(r.stdout).toMatch(/^2\.\d+/);
    } finally {
      await ts.stop();
    }
    expect(psql(ts.url, 'SELECT 1;').status).not.toBe(0);
  });

  it('takes a query larger than one socket read (whole protocol messages reach PGlite)', async () => {
    const ts = await startTimescale({ ownServer: true });
    try {
      const big = 'x'.repeat(2_000_000);
      const r = psql(ts.url, `SELECT length('${big}');\nSELECT 42;`);
      expect(r.stderr).not.toMatch(/ERROR|FATAL/);
      expect(r.stdout.split('\n')).toEqual(['2000000', '42']);
    } finally {
      await ts.stop();
    }
  });
});

describe('startPostgres', () => {
  it('stops the server and starts it again on the same port with its data', async () => {
    const pg = await startPostgres({ ownServer: true });
    try {
      expect(psql(pg.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7);').status).toBe(0);
      await pg.stopServer();
      expect(psql(pg.url, 'SELECT 1;').status).not.toBe(0);
      await pg.startServer();
      expect(psql(pg.url, 'SELECT x FROM kept;').stdout).toBe('7');
    } finally {
      await pg.stop();
    }
  });
});
