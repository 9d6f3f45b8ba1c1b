import { AuditIds, AuditJournal, byAuditId } from './auditJournal.js';
import type { AuditEntry, AuditEntryInput } from './auditJournal.js';

export { AuditIds, AuditJournal, legacyAuditId } from './auditJournal.js';
export type { AuditEntry, AuditEntryInput, AuditType } from './auditJournal.js';

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
  /** Failed PostgreSQL writes (each was retried). */
  readonly failedWrites: number;
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
 * login and permission failure. `append` is synchronous and durable (the
 * local journal is fsync'd before it returns); a PostgreSQL trail also
 * ships each entry to the `tickflow_audit` table in the background.
 */
export interface AuditTrail {
  readonly store: AuditStoreKind;
  /** The local journal file. */
  readonly path: string;
  /** Everything restored at start, in append order (by id): what the paper broker replays. */
  readonly loaded: readonly AuditEntry[];
  /** Unreadable journal lines skipped at start. */
  readonly skipped: number;
  /** Records an entry durably and returns it with its id. */
  append(entry: AuditEntryInput): AuditEntry;
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

/**
 * The audit trail as the local NDJSON journal only (no DATABASE_URL): each
 * entry is written and fsync'd before `append` returns, so an acknowledged
 * order or fill survives a crash. A torn last line is skipped on load.
 */
export class AuditLog implements AuditTrail {
  readonly store = 'file' as const;
  private readonly tail: AuditTail;
  private appended = 0;

  private constructor(
    private readonly journal: AuditJournal,
    private readonly ids: AuditIds,
    readonly loaded: readonly AuditEntry[],
  ) {
    this.tail = new AuditTail(loaded);
  }

  get path(): string {
    return this.journal.path;
  }

  get skipped(): number {
    return this.journal.skipped;
  }

  /** Opens (creating folders) and reads back what is already there. */
  static open(path: string): AuditLog {
    const journal = AuditJournal.open(path);
    const ids = new AuditIds();
    for (const e of journal.entries) ids.observe(e.id);
    return new AuditLog(journal, ids, [...journal.entries].sort(byAuditId));
  }

  append(input: AuditEntryInput): AuditEntry {
    const entry: AuditEntry = { ...input, id: this.ids.next() };
    this.journal.append([entry]);
    this.tail.push(entry);
    this.appended++;
    return entry;
  }

  recent(limit: number): AuditEntry[] {
    return this.tail.newest(limit);
  }

  async read(limit: number): Promise<AuditPage> {
    return { entries: this.recent(limit), source: 'memory' };
  }

  stats(): AuditStats {
    return { store: 'file', journal: this.path, loaded: this.loaded.length, appended: this.appended, shipped: 0, pending: 0, failedWrites: 0, breaker: 'closed' };
  }

  async close(): Promise<void> {
    this.journal.close();
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
  if (options.databaseUrl === undefined) return AuditLog.open(options.path);
  const { PostgresAuditTrail } = await import('./auditPostgres.js');
  return PostgresAuditTrail.open({ path: options.path, url: options.databaseUrl, poolMax: options.poolMax, warn: options.warn });
}
