import fc from 'fast-check';
import { SignJWT } from 'jose';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, jwtAuth, startWsServer } from '../src/index.js';
import type { WsServer } from '../src/index.js';
import { afterMarker, rawClient, until } from './rawClient.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const key = new TextEncoder().encode(SECRET);
const sign = (claims: Record<string, unknown>, exp: string | number = '1h') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(key);

let server: WsServer | undefined;
afterEach(async () => {
  await server?.close({ timeout: 500 });
  server = undefined;
});

/** The HTTP status an upgrade gets (101 when it became a socket). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (e) => {
      if (!String(e.message).includes('Unexpected server response')) reject(e);
    });
  });
}

describe('authentication at upgrade', () => {
  it('accepts a valid JWT from the Authorization header or the token query parameter', async () => {
    server = await startWsServer({ authenticate: jwtAuth({ secret: SECRET }) });
    const token = await sign({ channels: ['*'] });
    expect(await upgradeStatus(server.url, { authorization: `Bearer ${token}` })).toBe(101);
    expect(await upgradeStatus(`${server.url}?token=${token}`)).toBe(101);
  });

  it('rejects a missing, forged or expired token with HTTP 401, and no socket is ever opened', async () => {
    server = await startWsServer({ authenticate: jwtAuth({ secret: SECRET }) });
    let connections = 0;
    server.on('connection', () => connections++);
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-another-secret-xx'));
    const expired = await sign({}, Math.floor(Date.now() / 1000) - 3_600);
    expect(await upgradeStatus(server.url)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=${forged}`)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=${expired}`)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=not.a.jwt`)).toBe(401);
    expect(connections).toBe(0);
    expect(server.stats().rejectedUpgrades).toBe(4);
  });

  it('verifies HS256, HS384 and HS512 tokens with the same secret and refuses unsigned or other-algorithm tokens', async () => {
    server = await startWsServer({ authenticate: jwtAuth({ secret: SECRET }) });
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await new SignJWT({}).setProtectedHeader({ alg }).setSubject('alice').setExpirationTime('1h').sign(key);
      expect(await upgradeStatus(`${server.url}?token=${token}`)).toBe(101);
    }
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body = b64({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 3_600 });
    const unsigned = `${b64({ alg: 'none' })}.${body}.`;
    // An RS256 header over an HMAC of the secret (the classic algorithm confusion).
    const valid = await sign({});
    const confused = `${b64({ alg: 'RS256' })}.${body}.${valid.split('.')[2]}`;
    expect(await upgradeStatus(`${server.url}?token=${unsigned}`)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=${confused}`)).toBe(401);
  });

  it('checks issuer, audience and not-before with a shared secret', async () => {
    server = await startWsServer({ authenticate: jwtAuth({ secret: SECRET, issuer: 'tickflow', audience: 'dashboard' }) });
    const token = (iss: string, aud: string, nbf = 0) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).setAudience(aud).setNotBefore(nbf).setSubject('alice').setExpirationTime('1h').sign(key);
    expect(await upgradeStatus(`${server.url}?token=${await token('tickflow', 'dashboard')}`)).toBe(101);
    expect(await upgradeStatus(`${server.url}?token=${await token('someone-else', 'dashboard')}`)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=${await token('tickflow', 'other-app')}`)).toBe(401);
    expect(await upgradeStatus(`${server.url}?token=${await token('tickflow', 'dashboard', Math.floor(Date.now() / 1000) + 3_600)}`)).toBe(401);
  });

  it('closes a connection with TOKEN_EXPIRED when its token expires', async () => {
    server = await startWsServer({ authenticate: jwtAuth({ secret: SECRET, clockTolerance: 0 }) });
    const token = await sign({}, Math.floor(Date.now() / 1000) + 1);
    const c = await rawClient(`${server.url}?token=${token}`);
    expect((await c.closed).code).toBe(CloseCode.TOKEN_EXPIRED);
  });
});

describe('per-channel authorization', () => {
  it('answers FORBIDDEN for channels the authorize hook refuses and serves the others', async () => {
    server = await startWsServer({
      flushInterval: 10,
      authenticate: jwtAuth({ secret: SECRET }),
      authorize: async (principal, channel) => {
        const allowed = principal.claims.symbols as string[];
        return channel.kind === 'ticker' || allowed.includes(channel.symbol ?? '');
      },
    });
    const token = await sign({ symbols: ['AAPL'] });
    const c = await rawClient(`${server.url}?token=${token}`);
    c.send({ type: 'subscribe', channels: ['trades:MSFT', 'trades:AAPL'], id: 3 });
    expect(await c.next('error')).toMatchObject({ code: 'FORBIDDEN', channel: 'trades:MSFT', id: 3 });
    expect(await c.next('snapshot')).toMatchObject({ channel: 'trades:AAPL' });
    server.publish('trades', [{ symbol: 'MSFT', ts: 1, price: 1, size: 1 }]);
    await afterMarker(server, c, 'trades:AAPL');
    expect(c.messages.some((m) => m.type !== 'error' && 'channel' in m && m.channel === 'trades:MSFT')).toBe(false);
    await c.close();
  });
});

describe('limits', () => {
  it('limits subscriptions per connection', async () => {
    server = await startWsServer({ flushInterval: 10, maxSubscriptions: 2 });
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: ['trades:A', 'trades:B', 'trades:C'] });
    expect(await c.next('error')).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', channel: 'trades:C' });
    await c.close();
  });

  it('drops messages over the token-bucket rate limit with one RATE_LIMITED error, and closes with 1008 a client that keeps flooding', async () => {
    server = await startWsServer({ rateLimit: { capacity: 5, refillPerSecond: 1, closeAfter: 50 } });
    const c = await rawClient(server.url);
    for (let i = 0; i < 10; i++) c.send({ type: 'ping', id: i });
    // The error answers the sixth ping; the four after it are dropped without an answer.
    await until('five pongs and the error', () => c.messages.filter((m) => m.type === 'pong').length === 5 && c.messages.some((m) => m.type === 'error'));
    const pongs = c.messages.filter((m) => m.type === 'pong');
    const errors = c.messages.filter((m) => m.type === 'error');
    expect(pongs).toHaveLength(5);
    expect(errors).toEqual([expect.objectContaining({ code: 'RATE_LIMITED' })]);
    for (let i = 0; i < 60; i++) c.send({ type: 'ping', id: i });
    expect((await c.closed).code).toBe(CloseCode.POLICY_VIOLATION);
    expect(server.stats().rateLimited).toBeGreaterThanOrEqual(50);
  });

  it('closes with 1009 a client frame above maxMessageSize', async () => {
    server = await startWsServer({ maxMessageSize: 1_024 });
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: Array.from({ length: 200 }, (_, i) => `trades:S${i}`) });
    expect((await c.closed).code).toBe(CloseCode.MESSAGE_TOO_BIG);
  });

  it('closes with 1007 a frame that is not MessagePack or JSON, and answers a well-formed but wrong message with BAD_MESSAGE', async () => {
    server = await startWsServer({});
    const c = await rawClient(server.url);
    c.send({ type: 'subscribe', channels: 'trades:A', id: 9 });
    expect(await c.next('error')).toMatchObject({ code: 'BAD_MESSAGE', id: 9 });
    c.ws.send('{not json', { binary: false });
    expect((await c.closed).code).toBe(CloseCode.INVALID_PAYLOAD);
  });
});

describe('fuzzing', () => {
  it('survives arbitrary frames: the server stays up and serves the next good client', async () => {
    server = await startWsServer({ flushInterval: 5, maxMessageSize: 4_096, rateLimit: { capacity: 1_000, refillPerSecond: 1_000 } });
    server.publish('quotes', [{ symbol: 'OK', ts: 1, bid: 1, ask: 2 }]);
    const packr = new Packr({ useRecords: false });
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => ({ binary: true, data: Buffer.from(b) })),
      fc.string({ maxLength: 256 }).map((s) => ({ binary: false, data: Buffer.from(s) })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => ({ binary: false, data: Buffer.from(JSON.stringify(v) ?? 'null') })),
      fc
        .record({ type: fc.constantFrom('subscribe', 'unsubscribe', 'resync', 'ping', 'x'), channels: fc.anything({ maxDepth: 2 }), channel: fc.anything({ maxDepth: 1 }), id: fc.anything({ maxDepth: 0 }) }, { requiredKeys: ['type'] })
        .map((v) => ({ binary: true, data: packr.pack(v) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const ws = new WebSocket(server!.url);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        for (const f of frames) ws.send(f.data, { binary: f.binary });
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => resolve(), 30);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
        ws.terminate();
      }),
      { numRuns: 60 },
    );
    const good = await rawClient(server.url, { format: 'json' });
    good.send({ type: 'subscribe', channels: ['quotes:OK'] });
    expect(await good.next('snapshot')).toMatchObject({ rows: [{ symbol: 'OK', bid: 1, ask: 2, ts: 1 }] });
    await good.close();
  });
});
