import { describe, expect, it } from 'vitest';
import { TickflowError } from './errors.js';
import { DurationSchema, formatDuration, ms, parseDuration } from './duration.js';

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

describe('DurationSchema and ms', () => {
  it('accepts ms ≥ 0 and non-empty strings at the boundary, and ms() turns them into milliseconds', () => {
    for (const v of [0, 250, '5s', '1m']) expect(DurationSchema.safeParse(v).success).toBe(true);
    for (const v of [-1, '', null, {}]) expect(DurationSchema.safeParse(v).success).toBe(false);
    expect(ms('5s', 'connectTimeout')).toBe(5_000);
    expect(ms(250, 'flushInterval')).toBe(250);
  });

  it('ms() names the option when a string that passed the schema is not a duration', () => {
    expect(DurationSchema.safeParse('5 secs').success).toBe(true);
    expect(() => ms('5 secs', 'connectTimeout')).toThrow(/connectTimeout "5 secs" is not a duration/);
  });
});
