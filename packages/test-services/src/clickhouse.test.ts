import { describe, expect, it } from 'vitest';
import { startClickHouse } from './clickhouse.js';

async function sql(url: string, query: string): Promise<string> {
  const res = await fetch(`${url}/`, { method: 'POST', body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(text);
  return text.trim();
}

describe('startClickHouse', () => {
  it('starts ClickHouse on a loopback port, survives a kill and restart with its data, and stops', async () => {
    const ch = await startClickHouse({ ownServer: true });
    try {
      expect(ch.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await sql(ch.url, 'SELECT version()')).toMatch(/^\d+\.\d+/);
      await sql(ch.url, 'CREATE TABLE default.kept (x UInt8) ENGINE = MergeTree ORDER BY x');
      await sql(ch.url, 'INSERT INTO default.kept VALUES (7)');
      await ch.kill();
      await expect(sql(ch.url, 'SELECT 1')).rejects.toThrow();
      await ch.restart();
      expect(await sql(ch.url, 'SELECT x FROM default.kept')).toBe('7');
    } finally {
      await ch.stop();
    }
    await expect(sql(ch.url, 'SELECT 1')).rejects.toThrow();
  }, 300_000); // the first run on a machine installs clickhouse-server
});
