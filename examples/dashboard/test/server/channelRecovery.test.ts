// Recovery of a list channel through the reference server: a client whose socket is killed while
// the synthetic feed keeps trading ends with exactly the trades a client that stayed connected saw.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Trade } from '@tickflow/core';
import { createClient } from '@tickflow/ws-server/client';
import type { TickflowClient } from '@tickflow/ws-server/client';
import type { ReferenceServer } from '../../src/server/referenceServer.js';
import { startReferenceServer } from '../../src/server/referenceServer.js';
import { until } from '../waitUntil.js';

const SECRET = 'recovery-secret-recovery-secret-recovery';
const CHANNEL = 'trades:SYM0001';

/** Every trade a client's UI saw on CHANNEL, in order (a reset starts over from the snapshot). */
function record(c: TickflowClient) {
  const seen: string[] = [];
  const flags: (boolean | undefined)[] = [];
  let resets = 0;
  c.subscribe(CHANNEL, (u) => {
    if (u.recovered !== undefined) flags.push(u.recovered);
    if (u.reset) {
      resets++;
      seen.length = 0;
      for (const t of u.rows) seen.push(JSON.stringify(t as Trade));
    } else {
      for (const t of u.changed) seen.push(JSON.stringify(t as Trade));
    }
  });
  return {
    seen,
    flags,
    get resets() {
      return resets;
    },
  };
}

describe('trades channel recovery through the reference server', () => {
  let dir: string;
  let server: ReferenceServer;
  const clients: TickflowClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickflow-recovery-'));
    server = await startReferenceServer({ port: 0, host: '127.0.0.1', symbols: 2, rate: 400, seed: 8, logLevel: 'silent', jwtSecret: SECRET, dataDir: dir, history: '0' });
    await until(async () => server.store.lastPrice('SYM0001'), 'a first trade');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a killed socket misses nothing and repeats nothing: the same trades as a client that stayed connected', async () => {
    const res = await fetch(`${server.url}/api/auth/guest`, { method: 'POST' });
    const token = ((await res.json()) as { accessToken: string }).accessToken;
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        sockets.push(this);
      }
    }
    const steady = createClient({ url, token, WebSocket: WebSocket as never, batchInterval: 20, reconnect: false });
    clients.push(steady);
    const reference = record(steady);
    await until(async () => (reference.resets === 1 ? true : undefined), 'the steady client subscribed');
    const dropped = createClient({ url, token, WebSocket: Tracked as never, batchInterval: 20, reconnect: { initialDelay: 200, maxDelay: 200, jitter: 0 } });
    clients.push(dropped);
    const tested = record(dropped);
    await until(async () => (tested.resets === 1 && tested.seen.length > 60 ? true : undefined), 'a stream under way');
    const beforeKill = reference.seen.length;
    const testedAtKill = tested.seen.length;
    sockets[0]!.terminate(); // no close frame: a dropped connection
    await until(async () => (dropped.stats.connects === 2 && dropped.synced ? true : undefined), 'the reconnect');
    const atReconnect = reference.seen.length;
    await until(async () => (tested.seen.length > testedAtKill + (atReconnect - beforeKill) + 100 ? true : undefined), 'trades after the reconnect');

    expect(atReconnect).toBeGreaterThan(beforeKill); // the feed traded while the socket was down
    expect(tested.resets).toBe(1);
    expect(tested.flags).toEqual([true]);
    // Both lists grow while we look: compare where they overlap, which reaches well past the reconnect.
    const k = tested.seen.slice();
    const r = reference.seen.slice();
    const start = r.indexOf(k[0]!);
    expect(start).toBeGreaterThanOrEqual(0);
    const n = Math.min(k.length, r.length - start);
    expect(n).toBeGreaterThan(testedAtKill + 100);
    expect(k.slice(0, n)).toEqual(r.slice(start, start + n));
  });
});
