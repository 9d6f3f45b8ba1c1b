import { describe, expect, it } from 'vitest';
import { InvalidEvent } from './trade.js';
import { USER_EVENT_LIMITS, USER_EVENT_TYPES, normalizeUserEvent, normalizeUserEventRecord, parseUserEvent } from './userEvent.js';

const base = { version: 1, ts: 1_700_000_000_000, sessionId: 's-123' };

const reasonOf = (raw: unknown): string => {
  const r = normalizeUserEvent(raw);
  expect(r).toBeInstanceOf(InvalidEvent);
  return (r as InvalidEvent).reason;
};

describe('normalizeUserEvent', () => {
  it('accepts one valid event of every type', () => {
    const samples = [
      { ...base, type: 'page_view', path: '/', referrer: 'https://example.com/', title: 'tickflow' },
      { ...base, type: 'symbol_selected', symbol: 'AAPL', source: 'watchlist' },
      { ...base, type: 'timeframe_changed', symbol: 'AAPL', from: '1m', to: '5m' },
      { ...base, type: 'order_form_opened', symbol: 'MSFT', side: 'buy' },
      { ...base, type: 'error', message: 'TypeError: x is undefined', stack: 'at main.ts:1' },
      { ...base, type: 'session_start', client: 'web', userAgent: 'Chromium', screen: { width: 1280, height: 800 } },
      { ...base, type: 'session_end', durationMs: 5_000, reason: 'pagehide', id: 'abcdefgh-1234' },
    ];
    expect(samples.map((s) => s.type).sort()).toEqual([...USER_EVENT_TYPES].sort());
    for (const s of samples) expect(normalizeUserEvent(s)).toEqual(s);
  });

  it('rejects another schema version, naming the one it reads', () => {
    expect(reasonOf({ ...base, version: 2, type: 'page_view', path: '/' })).toMatch(/^version: version must be 1/);
    expect(reasonOf({ ts: 1, sessionId: 's', type: 'page_view', path: '/' })).toMatch(/version/);
  });

  it('rejects an unknown or missing type, listing the known ones', () => {
    expect(reasonOf({ ...base, type: 'purchase' })).toBe(`type: unknown user-event type "purchase", expected one of ${USER_EVENT_TYPES.join(', ')}`);
    expect(reasonOf({ ...base })).toMatch(/^type: unknown user-event type undefined/);
  });

  it('rejects oversize fields with the field and its limit', () => {
    expect(reasonOf({ ...base, type: 'error', message: 'x'.repeat(USER_EVENT_LIMITS.message + 1) })).toBe(`message: message must be at most ${USER_EVENT_LIMITS.message} characters`);
    expect(reasonOf({ ...base, type: 'error', message: 'm', stack: 's'.repeat(USER_EVENT_LIMITS.stack + 1) })).toMatch(/^stack: stack must be at most 4000 characters/);
    expect(reasonOf({ ...base, type: 'page_view', path: '/'.repeat(USER_EVENT_LIMITS.path + 1) })).toMatch(/^path: path must be at most 512/);
    expect(reasonOf({ ...base, sessionId: 's'.repeat(65), type: 'page_view', path: '/' })).toMatch(/^sessionId: sessionId must be at most 64/);
    expect(reasonOf({ ...base, type: 'symbol_selected', symbol: 'A'.repeat(33) })).toMatch(/^symbol: symbol must be at most 32/);
    // Exactly at the limit is fine.
    expect(normalizeUserEvent({ ...base, type: 'error', message: 'x'.repeat(USER_EVENT_LIMITS.message) })).not.toBeInstanceOf(InvalidEvent);
  });

  it('rejects unknown fields, bad values and non-objects instead of dropping them silently', () => {
    expect(reasonOf({ ...base, type: 'page_view', path: '/', cookie: 'secret' })).toMatch(/cookie/);
    expect(reasonOf({ ...base, type: 'timeframe_changed', to: '2m' })).toMatch(/^to: /);
    expect(reasonOf({ ...base, ts: 1.5, type: 'page_view', path: '/' })).toMatch(/^ts: ts must be whole epoch milliseconds/);
    expect(reasonOf({ ...base, id: 'has space!', type: 'page_view', path: '/' })).toMatch(/^id: /);
    expect(reasonOf(null)).toBe('expected a user event object, got null');
    expect(reasonOf([base])).toBe('expected a user event object, got an array');
    expect(reasonOf('page_view')).toBe('expected a user event object, got string');
  });

  it('parseUserEvent throws a TickflowError with the reason', () => {
    expect(() => parseUserEvent({ ...base, type: 'nope' })).toThrow(/invalid user event: type: unknown user-event type "nope"/);
  });
});

describe('normalizeUserEventRecord', () => {
  it('needs the id, receive time and user the server adds', () => {
    const ev = { ...base, type: 'page_view', path: '/' };
    const ok = { ...ev, id: 'evt-00000001', receivedAt: 1_700_000_000_100, user: 'guest-1a2b3c4d' };
    expect(normalizeUserEventRecord(ok)).toEqual(ok);
    const r = normalizeUserEventRecord(ev);
    expect(r).toBeInstanceOf(InvalidEvent);
    expect((r as InvalidEvent).reason).toMatch(/id/);
    expect((r as InvalidEvent).reason).toMatch(/receivedAt/);
    expect((r as InvalidEvent).reason).toMatch(/user/);
  });
});
