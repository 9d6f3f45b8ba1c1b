import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chdbCacheDir, loadChdb } from './chdb.js';

describe('loadChdb', () => {
  it('installs chDB into the repository cache on first use and runs SQL in-process', async () => {
    const { Session } = await loadChdb();
    expect(existsSync(join(chdbCacheDir(), 'node_modules', 'chdb'))).toBe(true);
    expect(chdbCacheDir()).toMatch(/\.cache[/\\]chdb$/);
    const session = new Session();
    try {
      expect(session.query('SELECT version()').trim()).toMatch(/^"?\d+\.\d+/);
      expect(session.query("SELECT toDateTime64('2024-01-19 10:30:45.123', 3, 'UTC')", 'TabSeparated').trim()).toBe('2024-01-19 10:30:45.123');
    } finally {
      session.cleanup();
    }
  }, 600_000); // the first run on a machine downloads ~540 MB
});
