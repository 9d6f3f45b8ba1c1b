import { describe, expect, it } from 'vitest';
import { redactUrl } from './redactUrl.js';

describe('redactUrl', () => {
  it('replaces the password and keeps the user', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/ticks')).toBe('postgres://app:***@db:5432/ticks');
    expect(redactUrl('clickhouse://u:p%40ss@ch1:9000/ticks')).toBe('clickhouse://u:***@ch1:9000/ticks');
  });

  it('hides a password that has no user name (redis://:secret@host)', () => {
    expect(redactUrl('redis://:secret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
  });

  it('redacts every URL in a string and leaves URLs without credentials alone', () => {
    expect(redactUrl('"http://a:x@h1:8123,http://b:y@h2:8123"')).toBe('"http://a:***@h1:8123,http://b:***@h2:8123"');
    expect(redactUrl('postgres://app@db/ticks')).toBe('postgres://app@db/ticks');
    expect(redactUrl('http://localhost:8123/')).toBe('http://localhost:8123/');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});
