import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withFileLock } from './fileLock.js';

describe('withFileLock', () => {
  it('runs holders one at a time and removes the lock afterwards, also when the holder throws', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-lock-'));
    const lock = join(dir, 'x.lock');
    const events: string[] = [];
    const holder = (name: string) => async () => {
      events.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 30)); // held a while on purpose, so the other holder has to wait
      events.push(`${name} out`);
    };
    await Promise.all([withFileLock(lock, holder('a')), withFileLock(lock, holder('b'))]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
    await expect(withFileLock(lock, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(lock)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes over a stale lock left by a dead process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickflow-lock-'));
    const lock = join(dir, 'x.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, () => 42, 10_000)).toBe(42);
    rmSync(dir, { recursive: true, force: true });
  });
});
