import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RotateResult, Session, SessionBackend } from './sessionBackend.js';

/**
 * Embedded mode: sessions in process memory, at most `max` (the least
 * recently used go first); with `file`, also saved there after every change
 * (written whole, to a temporary file then renamed, mode 0600) and loaded at
 * start, so sign-ins survive a restart of the server.
 */
export class MemorySessions implements SessionBackend {
  private readonly byId = new Map<string, { s: Session; expires: number }>();
  private saving: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly max = 100_000,
    private readonly file?: string,
  ) {}

  /** Loads the saved sessions (missing or unreadable file: none). */
  async load(): Promise<number> {
    if (this.file === undefined) return 0;
    let rows: unknown;
    try {
      rows = JSON.parse(await readFile(this.file, 'utf8'));
    } catch {
      return 0;
    }
    if (!Array.isArray(rows)) return 0;
    const now = Date.now();
    for (const r of rows as { s?: Session; expires?: number }[]) {
      if (r.s !== undefined && typeof r.s.sid === 'string' && typeof r.expires === 'number' && r.expires > now) this.byId.set(r.s.sid, { s: r.s, expires: r.expires });
    }
    return this.byId.size;
  }

  /** Saves after a change; changes made while a save runs are saved by one more save. */
  private changed(): void {
    if (this.file === undefined) return;
    this.dirty = true;
    this.saving ??= (async () => {
      while (this.dirty) {
        this.dirty = false;
        const file = this.file!;
        try {
          await mkdir(dirname(file), { recursive: true });
          // Written, flushed to disk, then renamed over the old file (and the directory entry flushed): a crash
          // leaves the old or the new sessions, never an empty or torn file.
          const tmp = await open(`${file}.tmp`, 'w', 0o600);
          try {
            await tmp.writeFile(JSON.stringify([...this.byId.values()]));
            await tmp.sync();
          } finally {
            await tmp.close();
          }
          await rename(`${file}.tmp`, file);
          const dir = await open(dirname(file), 'r');
          await dir.sync().finally(() => dir.close());
        } catch {
          // best effort: the sessions stay in memory
        }
      }
      this.saving = undefined;
    })();
  }

  async put(s: Session, ttlS: number): Promise<void> {
    this.changed();
    this.byId.delete(s.sid);
    this.byId.set(s.sid, { s, expires: Date.now() + ttlS * 1000 });
    if (this.byId.size > this.max) {
      const now = Date.now();
      for (const [k, v] of this.byId) if (v.expires <= now) this.byId.delete(k);
      while (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value!);
    }
  }

  async get(sid: string): Promise<Session | undefined> {
    const v = this.byId.get(sid);
    if (v === undefined) return undefined;
    if (v.expires <= Date.now()) {
      this.byId.delete(sid);
      return undefined;
    }
    return v.s;
  }

  async rotate(sid: string, gen: number, now: number, ttlS: number): Promise<RotateResult> {
    const s = await this.get(sid);
    if (s === undefined) return { ok: false, why: 'gone' };
    if (s.gen !== gen) {
      this.byId.delete(sid);
      this.changed();
      return { ok: false, why: 'reuse' };
    }
    const next = { ...s, gen: gen + 1, lastUsed: now };
    await this.put(next, ttlS);
    return { ok: true, session: next };
  }

  async delete(sid: string): Promise<Session | undefined> {
    const s = await this.get(sid);
    if (this.byId.delete(sid)) this.changed();
    return s;
  }

  async list(user: string): Promise<Session[]> {
    const out: Session[] = [];
    const now = Date.now();
    for (const { s, expires } of this.byId.values()) if (s.user === user && expires > now) out.push(s);
    return out;
  }

  async close(): Promise<void> {
    await this.saving;
  }
}
