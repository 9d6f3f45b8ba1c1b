import { AuditIds, AuditJournal, REPLAYED_TYPES, byAuditId } from './auditJournal.js';
import type { AuditEntry, AuditEntryInput } from './auditJournal.js';

export { AuditIds, AuditJournal, REPLAYED_TYPES, legacyAuditId } from './auditJournal.js';
export type { AuditEntry, AuditEntryInput, AuditType } from './auditJournal.js';

/** Whether an entry is one the paper broker replays. */
export function isReplayed(e: AuditEntry): boolean {
  return REPLAYED_TYPES.has(String(e.type));
}

/** Where the audit trail is kept: the local NDJSON journal alone, or the journal shipped to PostgreSQL. */
export type AuditStoreKind = 'file' | 'postgres';

/** Counters of the audit trail, for /healthz. */
export interface AuditStats {
  readonly store: AuditStoreKind;
  /** The local journal (NDJSON). */
  readonly journal: string;
  /** Entries restored at start. */
  readonly loaded: number;
  /** Entries appended since start. */
  readonly appended: number;
  /** Entries written to PostgreSQL since start (catch-up included); 0 for the file store. */
  readonly shipped: number;
  /** Entries in the journal not yet in PostgreSQL (they are retried until they are). */
  readonly pending: number;
  /** Failed PostgreSQL writes (each was retried), or failed journal writes for the file store. */
  readonly failedWrites: number;
  /** Denied-request entries not written one by one (sampled; counted in `suppressed` summary entries). */
  readonly suppressed: number;
  /** Group commits of the journal (one write + one fdatasync each) and entries waiting for the next. */
  readonly journalCommits: number;
  readonly journalPending: number;
  /** The circuit breaker of the PostgreSQL writes (`closed` for the file store). */
  readonly breaker: 'closed' | 'open' | 'halfOpen';
  readonly lastError?: string | undefined;
}

/** A page of the newest entries and where it was read. */
export interface AuditPage {
  /** Oldest first. */
  readonly entries: AuditEntry[];
  /** `postgres`, or `memory` (the in-process tail: file store, or PostgreSQL unavailable). */
  readonly source: 'postgres' | 'memory';
  /** Why PostgreSQL was not read, when it is configured but failed. */
  readonly degraded?: string | undefined;
}

/**
 * The audit trail: every order, fill, rejection, login, failed login, guest
 * login and permission failure. `append` bounds the entry (AuditGate),
 * samples floods of denied requests, and queues it for the journal's next
 * group commit; `flush()` resolves once everything appended before it is on
 * disk (the order routes await it before answering). A PostgreSQL trail also
 * ships each entry to the `tickflow_audit` table in the background.
 */
export interface AuditTrail {
  readonly store: AuditStoreKind;
  /** The local journal file. */
  readonly path: string;
  /** The trading entries restored at start (REPLAYED_TYPES), in append order (by id): what the paper broker replays. */
  readonly loaded: readonly AuditEntry[];
  /** Unreadable journal lines skipped at start. */
  readonly skipped: number;
  /** Records an entry (bounded; queued for the next group commit) and returns it with its id; undefined when sampled out (counted). */
  append(entry: AuditEntryInput): AuditEntry | undefined;
  /** Resolves once every entry appended so far is on disk; rejects if the journal cannot be written. */
  flush(): Promise<void>;
  /** The newest entries held in memory (up to 1000), oldest first. */
  recent(limit: number): AuditEntry[];
  /** The newest entries from the store of record (PostgreSQL when configured), oldest first. */
  read(limit: number): Promise<AuditPage>;
  stats(): AuditStats;
  /** Flushes what is pending (bounded wait) and closes the journal and connections. */
  close(): Promise<void>;
}

const TAIL = 1000;

/** The in-memory tail shared by both stores. @internal */
export class AuditTail {
  private readonly items: AuditEntry[];

  constructor(loaded: readonly AuditEntry[]) {
    this.items = loaded.slice(-TAIL);
  }

  push(entry: AuditEntry): void {
    this.items.push(entry);
    if (this.items.length > TAIL + 100) this.items.splice(0, this.items.length - TAIL);
  }

  newest(limit: number): AuditEntry[] {
    return this.items.slice(-Math.min(limit, TAIL));
  }
}

/** Entry types recorded for denied or anonymous requests: an attacker can cause them at will, so floods are sampled. */
export const SAMPLED_TYPES: ReadonlySet<string> = new Set(['forbidden', 'login_failed', 'guest_login', 'order_rejected']);

/** How the audit gate bounds and samples entries. */
export interface AuditPolicy {
  /** Sampled-type entries written per key (type and address or user) per minute; the rest are counted. Default 5. */
  readonly perKeyPerMinute?: number | undefined;
  /** Sampled-type entries written per second in all; the rest are counted. Default 50. */
  readonly perSecond?: number | undefined;
  /** Longest string kept in an entry (longer ones are cut, their length noted). Default 256. */
  readonly maxString?: number | undefined;
  /** Queued journal bytes beyond which sampled-type entries are counted, not queued. Default 16 MiB. */
  readonly maxPendingBytes?: number | undefined;
}

/** Bounds a value for the journal: strings cut, arrays and objects limited, depth limited. */
function bounded(v: unknown, maxString: number, depth: number): unknown {
  if (typeof v === 'string') return v.length > maxString ? `${v.slice(0, maxString)}…(${v.length} chars)` : v;
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol' ? String(v).slice(0, maxString) : v;
  if (depth >= 4) return '[nested]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => bounded(x, maxString, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (n++ >= 50) break;
    out[k.slice(0, 64)] = bounded(x, maxString, depth + 1);
  }
  return out;
}

/**
 * In front of the journal: bounds every entry (strings at most `maxString`,
 * a `url` without its query string) and samples the types an anonymous or
 * denied client can cause (SAMPLED_TYPES; never orders, fills or
 * rejections of resting orders): per key at most `perKeyPerMinute`, in all
 * at most `perSecond`; what is held back is counted and written as one
 * `suppressed` entry per 10 s with the counts per type and the top keys.
 */
export class AuditGate {
  private readonly perKey: number;
  private readonly perSecond: number;
  private readonly maxString: number;
  readonly maxPendingBytes: number;
  private readonly windows = new Map<string, { start: number; n: number }>();
  private tokens: number;
  private tokensAt = 0;
  private counts = new Map<string, Map<string, number>>();
  private countsFrom = 0;
  /** Entries held back since start. */
  suppressed = 0;

  constructor(policy: AuditPolicy = {}) {
    this.perKey = policy.perKeyPerMinute ?? 5;
    this.perSecond = policy.perSecond ?? 50;
    this.maxString = policy.maxString ?? 256;
    this.maxPendingBytes = policy.maxPendingBytes ?? 16 * 1024 * 1024;
    this.tokens = this.perSecond * 2;
  }

  /** The bounded entry, or undefined when it is held back (counted). */
  admit(input: AuditEntryInput, pendingBytes: number, now = Date.now()): AuditEntryInput | undefined {
    const type = String(input.type);
    if (SAMPLED_TYPES.has(type) && !(type === 'order_rejected' && input.orderId !== undefined)) {
      const key = `${type}:${String(input.ip ?? input.user).slice(0, 64)}`;
      if (!this.take(key, now) || pendingBytes > this.maxPendingBytes) {
        this.count(type, key, now);
        return undefined;
      }
    }
    const out = bounded(input, this.maxString, 0) as Record<string, unknown>;
    if (typeof out.url === 'string') out.url = out.url.split('?')[0]!.slice(0, 200);
    return out as unknown as AuditEntryInput;
  }

  private take(key: string, now: number): boolean {
    if (now > this.tokensAt) {
      this.tokens = Math.min(this.perSecond * 2, this.tokens + ((now - this.tokensAt) / 1000) * this.perSecond);
      this.tokensAt = now;
    }
    let w = this.windows.get(key);
    if (w === undefined || now - w.start >= 60_000) {
      if (w === undefined && this.windows.size >= 10_000) {
        for (const [k, x] of this.windows) if (now - x.start >= 60_000) this.windows.delete(k);
        if (this.windows.size >= 10_000) return false; // a flood of distinct keys: count them
      }
      w = { start: now, n: 0 };
      this.windows.set(key, w);
    }
    if (w.n >= this.perKey || this.tokens < 1) return false;
    w.n++;
    this.tokens--;
    return true;
  }

  private count(type: string, key: string, now: number): void {
    this.suppressed++;
    if (this.countsFrom === 0) this.countsFrom = now;
    let m = this.counts.get(type);
    if (m === undefined) this.counts.set(type, (m = new Map()));
    const k = m.has(key) || m.size < 100 ? key : `${type}:(other keys)`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  /** The `suppressed` summary of what was held back since the last one, or undefined. */
  summary(now = Date.now()): AuditEntryInput | undefined {
    if (this.counts.size === 0) return undefined;
    const counts: Record<string, { total: number; top: Record<string, number> }> = {};
    for (const [type, m] of this.counts) {
      let total = 0;
      for (const n of m.values()) total += n;
      const top = Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, 20));
      counts[type] = { total, top };
    }
    const entry: AuditEntryInput = { ts: now, type: 'suppressed', user: '-', from: this.countsFrom, to: now, counts };
    this.counts = new Map();
    this.countsFrom = 0;
    return entry;
  }
}

/**
 * The audit trail as the local NDJSON journal only (no DATABASE_URL). See
 * AuditJournal for the group commit and AuditGate for the bounds; `flush()`
 * is the durability point.
 */
export class AuditLog implements AuditTrail {
  readonly store = 'file' as const;
  private readonly tail: AuditTail;
  private appended = 0;
  private failedWrites = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    private readonly journal: AuditJournal,
    private readonly ids: AuditIds,
    readonly loaded: readonly AuditEntry[],
    private readonly gate: AuditGate,
    private readonly warn: (message: string) => void,
  ) {
    this.tail = new AuditTail(journal.tail);
    this.timer = setInterval(() => this.summarise(), 10_000);
    this.timer.unref();
  }

  get path(): string {
    return this.journal.path;
  }

  get skipped(): number {
    return this.journal.skipped;
  }

  /** Opens (creating folders) and streams back what is already there. */
  static async open(path: string, options: { policy?: AuditPolicy; segmentBytes?: number; warn?: (message: string) => void } = {}): Promise<AuditLog> {
    const journal = await AuditJournal.open(path, { segmentBytes: options.segmentBytes });
    const ids = new AuditIds();
    if (journal.maxId !== undefined) ids.observe(journal.maxId);
    return new AuditLog(journal, ids, [...journal.entries].sort(byAuditId), new AuditGate(options.policy), options.warn ?? ((m) => console.warn(m)));
  }

  append(input: AuditEntryInput): AuditEntry | undefined {
    const admitted = this.gate.admit(input, this.journal.pendingBytes);
    if (admitted === undefined) return undefined;
    return this.write(admitted);
  }

  private write(input: AuditEntryInput): AuditEntry {
    const entry: AuditEntry = { ...input, id: this.ids.next() };
    this.journal.append([entry]).catch((e: unknown) => {
      this.failedWrites++;
      if (this.failedWrites === 1 || this.failedWrites % 1000 === 0) this.warn(`audit trail: ${e instanceof Error ? e.message : String(e)}`);
    });
    this.tail.push(entry);
    this.appended++;
    return entry;
  }

  private summarise(): void {
    const s = this.gate.summary();
    if (s !== undefined) this.write(s);
  }

  flush(): Promise<void> {
    return this.journal.flush();
  }

  recent(limit: number): AuditEntry[] {
    return this.tail.newest(limit);
  }

  async read(limit: number): Promise<AuditPage> {
    return { entries: this.recent(limit), source: 'memory' };
  }

  stats(): AuditStats {
    return {
      store: 'file',
      journal: this.path,
      loaded: this.loaded.length,
      appended: this.appended,
      shipped: 0,
      pending: 0,
      failedWrites: this.failedWrites,
      breaker: 'closed',
      lastError: this.journal.lastError,
      suppressed: this.gate.suppressed,
      journalCommits: this.journal.commits,
      journalPending: this.journal.pending,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.summarise();
    await this.journal.close();
  }
}

/** Where to keep the audit trail. */
export interface AuditTrailOptions {
  /** The local journal (NDJSON). */
  readonly path: string;
  /** PostgreSQL URL: the journal is also shipped to `tickflow_audit` and restored from it. */
  readonly databaseUrl?: string | undefined;
  /** Most PostgreSQL connections of the audit trail. Default 2. */
  readonly poolMax?: number | undefined;
  readonly warn?: ((message: string) => void) | undefined;
  /** Bounds and sampling of entries (AuditGate). */
  readonly policy?: AuditPolicy | undefined;
  /** Journal segment size. Default 64 MiB. */
  readonly segmentBytes?: number | undefined;
}

/**
 * Opens the audit trail: the NDJSON journal, plus PostgreSQL when
 * `databaseUrl` is set (the driver is loaded only then).
 *
 * @example
 * ```ts
 * const audit = await openAuditTrail({ path: '.tickflow/audit.ndjson', databaseUrl: process.env.DATABASE_URL });
 * audit.append({ ts: Date.now(), type: 'login', user: 'ann' });
 * await audit.close();
 * ```
 */
export async function openAuditTrail(options: AuditTrailOptions): Promise<AuditTrail> {
  if (options.databaseUrl === undefined) return AuditLog.open(options.path, { policy: options.policy, segmentBytes: options.segmentBytes, warn: options.warn });
  const { PostgresAuditTrail } = await import('./auditPostgres.js');
  return PostgresAuditTrail.open({ path: options.path, url: options.databaseUrl, poolMax: options.poolMax, warn: options.warn, policy: options.policy, segmentBytes: options.segmentBytes });
}
