import { describe, expect, it } from 'vitest';
import { createUserEventEmitter } from '../src/client/index.js';

interface Call {
  readonly types: string[];
  readonly keepalive: boolean;
}

/** A fetch that records each request; the first is never answered (the page went away before its answer). */
function recordingFetch(calls: Call[], answer: (n: number) => Promise<Response>): typeof fetch {
  return ((_url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body)) as { events: { type: string }[] };
    calls.push({ types: body.events.map((e) => e.type), keepalive: init.keepalive === true });
    return calls.length === 1 ? new Promise<Response>(() => undefined) : answer(calls.length);
  }) as typeof fetch;
}

const accepted = (): Promise<Response> => Promise.resolve(new Response(JSON.stringify({ accepted: 1, rejected: [] }), { status: 202 }));

describe('user events on leaving the page', () => {
  it('a keepalive flush sends at once what the running request does not carry, without waiting for its answer', async () => {
    const calls: Call[] = [];
    const events = createUserEventEmitter({ url: 'http://127.0.0.1:9/api/events', token: 't', flushInterval: 60_000, fetch: recordingFetch(calls, accepted) });
    events.emit({ type: 'page_view', path: '/' });
    void events.flush(); // the timer's flush: in flight, never answered
    await new Promise((r) => setTimeout(r, 0));
    events.emit({ type: 'session_end', durationMs: 1_000, reason: 'pagehide' });
    await events.flush({ keepalive: true });
    // session_end went out in its own keepalive request; page_view was not sent twice.
    expect(calls).toEqual([
      { types: ['page_view'], keepalive: false },
      { types: ['session_end'], keepalive: true },
    ]);
    await new Promise((r) => setTimeout(r, 0));
    expect(events.stats).toMatchObject({ sent: 1, queued: 1, failedRequests: 0 });
  });

  it('puts the events of a failed keepalive request back for the next flush', async () => {
    const calls: Call[] = [];
    const errors: string[] = [];
    let answer = (): Promise<Response> => Promise.resolve(new Response('busy', { status: 503 }));
    const fetch = recordingFetch(calls, () => answer());
    const events = createUserEventEmitter({ url: 'http://127.0.0.1:9/api/events', token: 't', flushInterval: 60_000, fetch, onError: (e) => errors.push(e.message) });
    events.emit({ type: 'page_view', path: '/' });
    void events.flush();
    await new Promise((r) => setTimeout(r, 0));
    events.emit({ type: 'symbol_selected', symbol: 'AAPL' });
    await events.flush({ keepalive: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(errors.at(-1)).toMatch(/answered 503; 1 events kept/);
    expect(events.stats).toMatchObject({ queued: 2, failedRequests: 1 });
    answer = accepted;
    await events.flush({ keepalive: true }); // page_view is still in flight: only symbol_selected goes again
    expect(calls.at(-1)).toEqual({ types: ['symbol_selected'], keepalive: true });
  });
});
