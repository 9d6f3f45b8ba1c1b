import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Role } from './auth.js';
import { MemorySessions } from './memorySessions.js';
import { RedisSessions } from './redisSessions.js';
import type { RotateResult, Session, SessionBackend } from './sessionBackend.js';
import type { RedisTarget } from './serverConfig.js';
import { redisConnection } from './serverConfig.js';

export type { RotateResult, Session } from './sessionBackend.js';

/** Options of Sessions.open. */
export interface SessionOptions {
  /** Idle time after which a session ends (every refresh resets it). Default 24 h. */
  readonly idleTtlS?: number | undefined;
  /** Full mode: sessions in Redis, revocations published to every node. */
  readonly redis?: RedisTarget | undefined;
  /** Key prefix in Redis. Default `tickflow:`. */
  readonly prefix?: string | undefined;
  /** Embedded mode: the file the sessions are saved to and loaded from (e.g. `DATA_DIR/sessions.json`); none: memory only. */
  readonly file?: string | undefined;
  /** How long a positive `active()` answer is trusted without asking the store again. Default 2 s. */
  readonly checkEveryMs?: number | undefined;
}

/**
 * Server-side sessions behind refresh tokens: created at sign-in, rotated at
 * each refresh (a refresh token works once; presenting an old one is reuse:
 * the session is revoked), ended by logout or revocation, or after the idle
 * TTL. Embedded mode keeps them in memory (and in `file`, across restarts); with Redis they are shared by the
 * nodes, and a revocation is published so every node closes the session's
 * WebSockets at once (the `revoked` event).
 */
export class Sessions extends EventEmitter<{ revoked: [sid: string, user: string] }> {
  private readonly confirmed = new Map<string, number>();
  /** Redis unreachable: sessions made meanwhile live here (this node only), revocations are remembered here. */
  private readonly local = new MemorySessions(10_000);
  private readonly revokedLocally = new Set<string>();
  private lastWarn = 0;
  /** Called (at most every 10 s) when the Redis session store fails and this node falls back to its memory. */
  onDegraded: (message: string) => void = () => undefined;

  private constructor(
    private readonly backend: SessionBackend,
    readonly idleTtlS: number,
    private readonly checkEveryMs: number,
    private readonly sub: Redis | undefined,
    private readonly pub: Redis | undefined,
    private readonly channel: string,
    /** `memory` or `redis`. */
    readonly kind: 'memory' | 'redis',
  ) {
    super();
  }

  static async open(options: SessionOptions = {}): Promise<Sessions> {
    const ttl = options.idleTtlS ?? 86_400;
    const every = options.checkEveryMs ?? 2_000;
    const prefix = options.prefix ?? 'tickflow:';
    if (options.redis === undefined) {
      const backend = new MemorySessions(100_000, options.file);
      await backend.load();
      return new Sessions(backend, ttl, every, undefined, undefined, '', 'memory');
    }
    const { Redis: RedisClient } = await import('ioredis');
    const conn = redisConnection(options.redis);
    const make = (): Redis => {
      // Fail soon while Redis is down (one retry): the session calls fall back to this node's memory (see Sessions).
      const common = { maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: (n: number) => Math.min(n * 100, 1_000) };
      const c = 'url' in conn ? new RedisClient(conn.url, common) : new RedisClient({ ...common, ...conn });
      c.on('error', () => {}); // failures surface as rejected commands
      return c;
    };
    const client = make();
    const sub = make();
    const channel = `${prefix}session-revoked`;
    const s = new Sessions(new RedisSessions(client, prefix), ttl, every, sub, client, channel, 'redis');
    // Resubscribes by itself after a reconnect (ioredis); not awaited, so a Redis that is down does not hold the start.
    sub.subscribe(channel).catch(() => undefined);
    sub.on('message', (_ch: string, text: string) => {
      const [sid, user] = text.split('\n');
      if (sid !== undefined) s.revokedHere(sid, user ?? '');
    });
    return s;
  }

  private revokedHere(sid: string, user: string): void {
    this.confirmed.delete(sid);
    this.emit('revoked', sid, user);
  }

  private degraded(e: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.onDegraded(`sessions: Redis unavailable (${e instanceof Error ? e.message : String(e)}): new sessions live in this node's memory, access tokens are checked by signature and expiry only until it is back`);
  }

  /** A new session for a signed-in user. */
  async create(user: string, role: Role, ip: string): Promise<Session> {
    const now = Date.now();
    const s: Session = { sid: randomBytes(16).toString('base64url'), user, role, gen: 0, createdAt: now, lastUsed: now, ip: ip.slice(0, 64) };
    try {
      await this.backend.put(s, this.idleTtlS);
    } catch (e) {
      this.degraded(e);
      await this.local.put(s, this.idleTtlS);
    }
    return s;
  }

  /** Rotates at a refresh: only the current generation works; an older one revokes the session (reuse). `unavailable`: Redis is down and the session is not in this node's memory. */
  async rotate(sid: string, gen: number): Promise<RotateResult> {
    let r: RotateResult;
    try {
      r = await this.backend.rotate(sid, gen, Date.now(), this.idleTtlS);
    } catch (e) {
      this.degraded(e);
      if ((await this.local.get(sid)) === undefined) return { ok: false, why: 'unavailable' };
      r = await this.local.rotate(sid, gen, Date.now(), this.idleTtlS);
    }
    if (!r.ok && r.why === 'reuse') await this.announce(sid, '');
    return r;
  }

  /**
   * Whether a session still exists (positive answers trusted for
   * `checkEveryMs`; a revocation on any node clears that at once). While
   * Redis is down: sessions this node revoked are refused, the others are
   * trusted (the access token's signature and expiry were checked).
   */
  async active(sid: string): Promise<boolean> {
    if (this.revokedLocally.has(sid)) return false;
    const at = this.confirmed.get(sid);
    const now = Date.now();
    if (at !== undefined && now - at < this.checkEveryMs) return true;
    let ok: boolean;
    try {
      ok = (await this.backend.get(sid)) !== undefined || (this.kind === 'redis' && (await this.local.get(sid)) !== undefined);
    } catch (e) {
      this.degraded(e);
      return true;
    }
    if (ok) {
      if (this.confirmed.size > 100_000) this.confirmed.clear();
      this.confirmed.set(sid, now);
    } else this.confirmed.delete(sid);
    return ok;
  }

  async get(sid: string): Promise<Session | undefined> {
    try {
      return (await this.backend.get(sid)) ?? (await this.local.get(sid));
    } catch (e) {
      this.degraded(e);
      return this.local.get(sid);
    }
  }

  async list(user: string): Promise<Session[]> {
    let list: Session[];
    try {
      list = await this.backend.list(user);
    } catch (e) {
      this.degraded(e);
      list = [];
    }
    if (this.kind === 'redis') list.push(...(await this.local.list(user)));
    return list.sort((a, b) => b.lastUsed - a.lastUsed);
  }

  /** Ends a session (logout, revocation): its refresh token stops working, its access tokens too, and its WebSockets are closed on every node. */
  async revoke(sid: string): Promise<Session | undefined> {
    let s: Session | undefined;
    try {
      s = await this.backend.delete(sid);
    } catch (e) {
      this.degraded(e);
      if (this.revokedLocally.size > 100_000) this.revokedLocally.clear();
      this.revokedLocally.add(sid);
    }
    s = (await this.local.delete(sid)) ?? s;
    await this.announce(sid, s?.user ?? '');
    return s;
  }

  private async announce(sid: string, user: string): Promise<void> {
    this.confirmed.delete(sid);
    if (this.pub === undefined) {
      this.revokedHere(sid, user);
      return;
    }
    try {
      await this.pub.publish(this.channel, `${sid}\n${user}`);
    } catch (e) {
      this.degraded(e);
      this.revokedHere(sid, user); // at least this node's WebSockets
    }
  }

  async close(): Promise<void> {
    this.sub?.disconnect();
    await this.backend.close();
  }
}
