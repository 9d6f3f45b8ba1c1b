import { describe, expect, it } from 'vitest';
import { TickflowError } from './errors.js';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads numbers as ms and strings with units', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
  });

  it('rejects what is not a duration with a message saying what to write', () => {
    expect(() => parseDuration('5 minutes')).toThrow(TickflowError);
    expect(() => parseDuration('5 minutes', 'grace')).toThrow(/grace "5 minutes" is not a duration: use a number of ms or a string like/);
    expect(() => parseDuration(-1)).toThrow(/≥ 0/);
    expect(() => parseDuration(Number.NaN)).toThrow(/finite/);
    expect(() => parseDuration('0.5ms')).toThrow(/whole number/);
  });
});

describe('formatDuration', () => {
  it('gives the shortest exact label', () => {
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(14_400_000)).toBe('4h');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(1_500)).toBe('1500ms');
  });
});
