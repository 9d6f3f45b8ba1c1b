import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const settings = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 };

describe('backoffDelay', () => {
  it('doubles the nominal delay per attempt and jitters within its upper half', () => {
    expect(backoffDelay(1, settings, () => 0)).toBe(50);
    expect(backoffDelay(1, settings, () => 1)).toBe(100);
    expect(backoffDelay(3, settings, () => 0)).toBe(200);
    expect(backoffDelay(3, settings, () => 1)).toBe(400);
  });

  it('never exceeds maxDelay however many attempts failed', () => {
    expect(backoffDelay(50, settings, () => 1)).toBe(1_000);
    expect(backoffDelay(50, settings, () => 0)).toBe(500);
  });

  it('spreads retries of many sinks instead of retrying in lockstep', () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(4, settings)));
    expect(delays.size).toBeGreaterThan(50);
  });
});
