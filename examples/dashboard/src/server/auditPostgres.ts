import { TickflowError, describeError, redactUrl } from '@tickflow/core';
import { BatchingSink } from '@tickflow/sinks';
import type { SinkTarget } from '@tickflow/sinks';
import postgres from 'postgres';
import { AuditIds, AuditJournal, byAuditId } from './auditJournal.js';
import type { AuditEntry, AuditEntryInput } from './auditJournal.js';
import { AuditGate, AuditTail, isReplayed } from './auditLog.js';
import type { AuditPage, AuditPolicy, AuditStats, AuditTrail } from './auditLog.js';

type Sql = postgres.Sql<Record<string, never>>;

/** The table of the audit trail. */
export const AUDIT_TABLE = 'tickflow_audit';

const TEXT = 25;
const FLOAT8 = 701;
/** Longest wait for a read of GET /api/audit before it answers from memory. */
const READ_TIMEOUT_MS = 3_000;

/** PostgreSQL text and jsonb cannot hold U+0000: such characters (e.g. in a failed login's user name) become U+FFFD. */
function noNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function entryJson(e: AuditEntry): string {
  return JSON.stringify(e, (_key, value: unknown) => (typeof value === 'string' ? noNul(value) : value));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Writes audit entries to `tickflow_audit` in one statement per batch
 * (`unnest` of one array per column), `ON CONFLICT (id) DO NOTHING`: writing
 * an entry twice leaves one row. Once `abandon()`ed (shutdown with PostgreSQL
 * still down) it writes nothing more: the entries stay in the journal and are
 * shipped at the next start.
 */
class AuditTableTarget implements SinkTarget<AuditEntry> {
  readonly name = `postgres:${AUDIT_TABLE}`;
  /** Rows really inserted or found present (not counting abandoned ones). */
  shipped = 0;
  private abandoned = false;

  constructor(private readonly sql: Sql) {}

  async writeRows(rows: readonly AuditEntry[]): Promise<void> {
    if (this.abandoned) return;
    const n = rows.length;
    const ids: string[] = new Array<string>(n);
    const ts: number[] = new Array<number>(n);
    const types: string[] = new Array<string>(n);
    const users: string[] = new Array<string>(n);
    const entries: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const e = rows[i]!;
      ids[i] = e.id;
      ts[i] = Number.isFinite(e.ts) ? e.ts : 0;
      types[i] = noNul(String(e.type));
      users[i] = noNul(String(e.user));
      entries[i] = entryJson(e);
    }
    const sql = this.sql;
    await sql`
      INSERT INTO tickflow_audit (id, ts, type, username, entry)
      SELECT id, to_timestamp(ts / 1000.0), type, username, entry::jsonb
      FROM unnest(${sql.array(ids, TEXT)}::text[], ${sql.array(ts, FLOAT8)}::float8[], ${sql.array(types, TEXT)}::text[],
                  ${sql.array(users, TEXT)}::text[], ${sql.array(entries, TEXT)}::text[]) AS r(id, ts, type, username, entry)
      ON CONFLICT (id) DO NOTHING`;
    this.shipped += n;
  }

  abandon(): void {
    this.abandoned = true;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: this.abandoned ? 0 : 5 }).catch(() => undefined);
  }
}

/** Options of PostgresAuditTrail.open. */
export interface PostgresAuditTrailOptions {
  /** The local journal (NDJSON). */
  readonly path: string;
  /** `postgres://user:password@host:port/database` */
  readonly url: string;
  /** Most connections (one write at a time plus GET /api/audit reads). Default 2. */
  readonly poolMax?: number | undefined;
  /** Longest wait at close for pending entries to reach PostgreSQL. Default 3 s. */
  readonly closeWaitMs?: number | undefined;
  readonly warn?: ((message: string) => void) | undefined;
  readonly policy?: AuditPolicy | undefined;
  readonly segmentBytes?: number | undefined;
}

/**
 * The audit trail in PostgreSQL with the local journal as its write-ahead
 * log. `append` writes and fsyncs the journal first (so it never waits for,
 * nor fails with, PostgreSQL), then queues the entry for a `BatchingSink`
 * that writes it to `tickflow_audit` with retries for ever (backoff, circuit
 * breaker): an outage delays entries, never loses them.
 *
 * On open it creates the table when missing, reads it whole in id (append)
 * order and merges it with the journal by id: journal entries the table lacks
 * are shipped again (catch-up after an outage or crash), table entries the
 * journal lacks are appended to it. So a server on a fresh data dir (a new
 * pod) restores every user's orders and positions from PostgreSQL.
 */
export class PostgresAuditTrail implements AuditTrail {
  readonly store = 'postgres' as const;
  private readonly tail: AuditTail;
  private appended = 0;
  private closed: Promise<void> | undefined;
  private failedJournalWrites = 0;
  private readonly gate: AuditGate;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    private readonly journal: AuditJournal,
    private readonly ids: AuditIds,
    private readonly sql: Sql,
    private readonly target: AuditTableTarget,
    private readonly sink: BatchingSink<AuditEntry>,
    readonly loaded: readonly AuditEntry[],
    /** Journal entries the table lacked at open (queued again). */
    readonly caughtUp: number,
    /** Table entries the journal lacked at open (restored). */
    readonly restored: number,
    private readonly closeWaitMs: number,
    private readonly warn: (message: string) => void,
    tail: readonly AuditEntry[],
    policy: AuditPolicy | undefined,
  ) {
    this.tail = new AuditTail(tail);
    this.gate = new AuditGate(policy);
    this.timer = setInterval(() => this.summarise(), 10_000);
    this.timer.unref();
  }

  get path(): string {
    return this.journal.path;
  }

  get skipped(): number {
    return this.journal.skipped;
  }

  /** Opens the journal, connects, creates the table when missing, merges both and queues the catch-up. */
  static async open(options: PostgresAuditTrailOptions): Promise<PostgresAuditTrail> {
    const warn = options.warn ?? ((m: string) => console.warn(m));
    // Which journal ids the table lacks is known once the table is read: the journal is streamed after it.
    const sql = postgres(options.url, {
      max: options.poolMax ?? 2,
      onnotice: () => undefined,
      connect_timeout: 10,
      // Fail fast while the server is down: the sink retries with its own backoff and breaker.
      backoff: () => 0,
    }) as unknown as Sql;
    let rows: { entry: AuditEntry }[];
    try {
      await sql.begin(async (tx) => {
        // Several nodes may start at once: one creates the table, the others wait.
        await tx`SELECT pg_advisory_xact_lock(hashtext('tickflow_audit'))`;
        await tx`CREATE TABLE IF NOT EXISTS tickflow_audit (
          id text COLLATE "C" PRIMARY KEY,
          ts timestamptz NOT NULL,
          type text NOT NULL,
          username text NOT NULL,
          entry jsonb NOT NULL)`;
        await tx`CREATE INDEX IF NOT EXISTS tickflow_audit_username_ts ON tickflow_audit (username, ts)`;
      });
      rows = await sql<{ entry: AuditEntry }[]>`SELECT entry FROM tickflow_audit ORDER BY id COLLATE "C"`;
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw new TickflowError('SINK_FAILED', `audit trail: cannot open ${AUDIT_TABLE} at ${redactUrl(options.url)}: ${describeError(e)}; check DATABASE_URL (the audit trail needs PostgreSQL at start to restore orders and positions)`, { cause: e });
    }

    const inTable = new Set<string>();
    const merged: AuditEntry[] = [];
    for (const { entry } of rows) {
      inTable.add(entry.id);
      merged.push(entry);
    }
    const inJournal = new Set<string>();
    const catchUp: AuditEntry[] = [];
    let journal: AuditJournal;
    try {
      journal = await AuditJournal.open(options.path, {
        segmentBytes: options.segmentBytes,
        want: {
          ids: (id) => {
            inJournal.add(id);
            return !inTable.has(id);
          },
          entry: (e) => {
            catchUp.push(e);
            merged.push(e);
          },
        },
      });
    } catch (e) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw e;
    }
    const restored = merged.filter((e) => !inJournal.has(e.id));
    await journal.append(restored);
    merged.sort(byAuditId);
    const ids = new AuditIds();
    if (journal.maxId !== undefined) ids.observe(journal.maxId);
    for (const e of merged) ids.observe(e.id);

    const target = new AuditTableTarget(sql);
    const sink = new BatchingSink<AuditEntry>(target, {
      maxBatchSize: 1_000,
      maxBatchAge: 20,
      // The journal holds every entry: the sink's queue only bounds memory, and append never waits on it.
      maxBufferedRows: 1_000_000,
      retry: { initialDelay: 100, maxDelay: 2_000 },
      breaker: { timeout: 15_000 },
      warn,
    });
    let warned = false;
    sink.on('retry', ({ error }) => {
      if (warned) return;
      warned = true;
      warn(`audit trail: PostgreSQL writes are failing, entries stay in the journal and are retried until they succeed (${error.message})`);
    });
    sink.on('written', () => {
      if (!warned) return;
      warned = false;
      warn('audit trail: PostgreSQL writes resumed; pending entries are being shipped');
    });
    const tail = merged.slice(-1000);
    const trail = new PostgresAuditTrail(journal, ids, sql, target, sink, merged.filter(isReplayed), catchUp.length, restored.length, options.closeWaitMs ?? 3_000, warn, tail, options.policy);
    if (catchUp.length > 0) void sink.enqueue(catchUp);
    return trail;
  }

  append(input: AuditEntryInput): AuditEntry | undefined {
    if (this.closed !== undefined) throw new TickflowError('PIPELINE_STATE', `the audit log "${this.path}" is closed`);
    const admitted = this.gate.admit(input, this.journal.pendingBytes);
    if (admitted === undefined) return undefined;
    return this.write(admitted);
  }

  private write(input: AuditEntryInput): AuditEntry {
    const entry: AuditEntry = { ...input, id: this.ids.next() };
    this.journal.append([entry]).catch((e: unknown) => {
      this.failedJournalWrites++;
      if (this.failedJournalWrites === 1 || this.failedJournalWrites % 1000 === 0) this.warn(`audit trail: ${e instanceof Error ? e.message : String(e)}`);
    });
    this.tail.push(entry);
    this.appended++;
    void this.sink.enqueue([entry]);
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

  /**
   * The newest entries of the table, with this node's entries not yet shipped
   * merged in; the in-memory tail when PostgreSQL does not answer (breaker
   * open, error or 3 s timeout), saying why in `degraded`.
   */
  async read(limit: number): Promise<AuditPage> {
    const memory = (why: string): AuditPage => ({ entries: this.recent(limit), source: 'memory', degraded: why });
    if (this.sink.stats.breaker === 'open') return memory(`PostgreSQL writes are failing (circuit breaker open): ${this.sink.stats.lastError ?? 'unknown error'}`);
    let rows: { entry: AuditEntry }[];
    try {
      const sql = this.sql;
      rows = await withTimeout(
        sql<{ entry: AuditEntry }[]>`SELECT entry FROM (SELECT id, entry FROM tickflow_audit ORDER BY id COLLATE "C" DESC LIMIT ${limit}) newest ORDER BY id COLLATE "C"`,
        READ_TIMEOUT_MS,
        'reading tickflow_audit',
      );
    } catch (e) {
      return memory(`PostgreSQL unavailable: ${describeError(e)}`);
    }
    const byId = new Map<string, AuditEntry>();
    for (const { entry } of rows) byId.set(entry.id, entry);
    if (this.sink.stats.buffered > 0) for (const e of this.recent(limit)) byId.set(e.id, e);
    return { entries: [...byId.values()].sort(byAuditId).slice(-limit), source: 'postgres' };
  }

  stats(): AuditStats {
    const s = this.sink.stats;
    return {
      store: 'postgres',
      journal: this.path,
      loaded: this.loaded.length,
      appended: this.appended,
      shipped: this.target.shipped,
      pending: s.buffered,
      failedWrites: s.retries + s.rowsFailed + this.failedJournalWrites,
      breaker: s.breaker,
      lastError: s.lastError ?? this.journal.lastError,
      suppressed: this.gate.suppressed,
      journalCommits: this.journal.commits,
      journalPending: this.journal.pending,
    };
  }

  /** Ships what is pending (waits at most `closeWaitMs`; what is left stays in the journal for the next start), then closes. */
  close(): Promise<void> {
    if (this.closed === undefined) {
      clearInterval(this.timer);
      this.summarise();
    }
    this.closed ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closing = this.sink.close();
      const done = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.closeWaitMs)))]);
      clearTimeout(timer);
      if (!done) {
        const pending = this.sink.stats.buffered;
        this.warn(`audit trail: ${pending} entries did not reach PostgreSQL within ${this.closeWaitMs} ms; they are in the journal ${this.path} and are shipped at the next start`);
        this.target.abandon();
        await this.sql.end({ timeout: 0 }).catch(() => undefined);
        // The sink finishes on its own once its current backoff ends (it writes nothing more).
        closing.catch(() => undefined);
      }
      await this.journal.close();
    })();
    return this.closed;
  }
}
