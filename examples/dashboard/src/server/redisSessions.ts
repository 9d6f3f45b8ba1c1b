import type { Redis } from 'ioredis';
import type { RotateResult, Session, SessionBackend } from './sessionBackend.js';

// GET, compare the generation, then bump it and reset the idle TTL, or delete the session on reuse: one atomic step.
const ROTATE = `
local v = redis.call('GET', KEYS[1])
if not v then return 'gone' end
local s = cjson.decode(v)
if tonumber(ARGV[1]) ~= tonumber(s.gen) then
  redis.call('DEL', KEYS[1])
  return 'reuse'
end
s.gen = tonumber(s.gen) + 1
s.lastUsed = tonumber(ARGV[2])
local out = cjson.encode(s)
redis.call('SET', KEYS[1], out, 'EX', tonumber(ARGV[3]))
return out`;

/** Full mode: `session:{sid}` (JSON, EX idle TTL) and `sessions:{user}` (a set of ids), shared by every node. */
export class RedisSessions implements SessionBackend {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(sid: string): string {
    return `${this.prefix}session:${sid}`;
  }

  private userKey(user: string): string {
    return `${this.prefix}sessions:${user}`;
  }

  async put(s: Session, ttlS: number): Promise<void> {
    await this.redis.multi().set(this.key(s.sid), JSON.stringify(s), 'EX', ttlS).sadd(this.userKey(s.user), s.sid).expire(this.userKey(s.user), ttlS).exec();
  }

  async get(sid: string): Promise<Session | undefined> {
    const v = await this.redis.get(this.key(sid));
    return v === null ? undefined : (JSON.parse(v) as Session);
  }

  async rotate(sid: string, gen: number, now: number, ttlS: number): Promise<RotateResult> {
    const r = (await this.redis.eval(ROTATE, 1, this.key(sid), String(gen), String(now), String(ttlS))) as string;
    if (r === 'gone' || r === 'reuse') return { ok: false, why: r };
    const session = JSON.parse(r) as Session;
    await this.redis.expire(this.userKey(session.user), ttlS);
    return { ok: true, session };
  }

  async delete(sid: string): Promise<Session | undefined> {
    const s = await this.get(sid);
    await this.redis.del(this.key(sid));
    if (s !== undefined) await this.redis.srem(this.userKey(s.user), sid);
    return s;
  }

  async list(user: string): Promise<Session[]> {
    const ids = (await this.redis.smembers(this.userKey(user))).slice(0, 1_000);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.key(id)));
    const out: Session[] = [];
    const stale: string[] = [];
    values.forEach((v, i) => (v === null ? stale.push(ids[i]!) : out.push(JSON.parse(v) as Session)));
    if (stale.length > 0) await this.redis.srem(this.userKey(user), ...stale);
    return out;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
