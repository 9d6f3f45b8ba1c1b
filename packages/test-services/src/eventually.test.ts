import { describe, expect, it } from 'vitest';
import { eventually, EventuallyTimeoutError } from './eventually.js';

describe('eventually', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let calls = 0;
    const v = await eventually('the third call', () => (++calls === 3 ? { calls } : undefined));
    expect(v).toEqual({ calls: 3 });
  });

  it('treats a check that throws as "not yet" and awaits async checks', async () => {
    let calls = 0;
    const v = await eventually('the check stops throwing', async () => {
      if (++calls < 3) throw new Error('not ready');
      return true;
    });
    expect(v).toBe(true);
    expect(calls).toBe(3);
  });

  it('fails at once with what failWhen returns', async () => {
    const failures: Error[] = [];
    let calls = 0;
    const pending = eventually('never', () => (++calls === 2 && failures.push(new Error('member died')), false), { timeoutMs: 60_000, failWhen: () => failures[0] });
    await expect(pending).rejects.toThrow('member died');
    expect(calls).toBe(2);
  });

  it('fails naming what it waited for and the last error', async () => {
    const err = await eventually('never', () => {
      throw new Error('still down');
    }, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventuallyTimeoutError);
    expect((err as Error).message).toMatch(/waiting until never: still down/);
    expect((err as Error).cause).toEqual(new Error('still down'));
  });
});
