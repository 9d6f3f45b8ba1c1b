import { mkdir, open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TickflowError } from '@tickflow/core';
import type { AuditEntry } from './auditEntry.js';
import { readJournal, segmentPath } from './auditJournalReader.js';
import type { JournalWant } from './auditJournalReader.js';

// The entry types and ids live in auditEntry.ts; importers of this module keep getting them here.
export { AuditIds, REPLAYED_TYPES, byAuditId, legacyAuditId } from './auditEntry.js';
export type { AuditEntry, AuditEntryInput, AuditType } from './auditEntry.js';

/** Options of AuditJournal.open. */
export interface AuditJournalOptions {
  /** Size at which the active file is sealed as a numbered segment and a new one begins. Default 64 MiB. */
  readonly segmentBytes?: number | undefined;
  /** Called for every entry read whose id it wants (e.g. those PostgreSQL lacks), parsed; replayed entries are offered too. */
  readonly want?: JournalWant | undefined;
  /** Entries of the newest segments kept for the in-memory tail. Default 1000. */
  readonly tail?: number | undefined;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * The local audit journal: append-only NDJSON in segments (the active file
 * `audit.ndjson`, sealed ones `audit.ndjson.000001`, … once the active one
 * passes `segmentBytes`).
 *
 * Writes: `append` queues entries and returns at once; a group commit writes
 * everything queued with one write and one fdatasync on the thread pool (off
 * the event loop), while the next entries queue for the following commit.
 * The promise `append` returns (and `flush()`) resolves once those entries
 * are on disk: the server awaits it before acknowledging an order.
 *
 * Reads at open: every segment is streamed (bounded memory whatever its size);
 * only the entries the broker replays (`REPLAYED_TYPES`) and those `want`
 * asks for are parsed, the others only yield their id. The newest `tail`
 * entries are read from the end. A torn last line (power loss mid-write) is
 * skipped and counted, and a missing final newline restored; lines without
 * an id (older files) get a deterministic one.
 */
export class AuditJournal {
  private queue: string[] = [];
  private queuedBytes = 0;
  private waiters: Waiter[] = [];
  private committing: Promise<void> | undefined;
  private closed = false;
  /** Bytes in the active segment. */
  private size: number;
  private nextSegment: number;
  /** Group commits done (each one write + one fdatasync). */
  commits = 0;
  /** Entries written. */
  written = 0;
  lastError: string | undefined;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    size: number,
    nextSegment: number,
    private readonly segmentBytes: number,
    /** The replayed entries in the journal, in file order, each id once. */
    readonly entries: readonly AuditEntry[],
    /** The newest entries of any type, oldest first. */
    readonly tail: readonly AuditEntry[],
    /** Unreadable lines skipped on open. */
    readonly skipped: number,
    /** Lines read on open (every type). */
    readonly lines: number,
    /** The greatest id read (for AuditIds.observe). */
    readonly maxId: string | undefined,
  ) {
    this.size = size;
    this.nextSegment = nextSegment;
  }

  /** Opens (creating folders and the file) and streams back what is there (auditJournalReader.ts). */
  static async open(path: string, options: AuditJournalOptions = {}): Promise<AuditJournal> {
    try {
      await mkdir(dirname(path), { recursive: true });
      const read = await readJournal(path, { want: options.want, tail: options.tail ?? 1000 });
      const fh = await open(path, 'a');
      let size = (await fh.stat()).size;
      if (!read.endsWithNewline) {
        await fh.write('\n');
        await fh.datasync();
        size++;
      }
      return new AuditJournal(path, fh, size, read.nextSegment, options.segmentBytes ?? 64 * 1024 * 1024, read.entries, read.tail, read.skipped, read.lines, read.maxId);
    } catch (e) {
      throw new TickflowError('INVALID_ARGUMENT', `cannot open the audit log "${path}": ${e instanceof Error ? e.message : String(e)}; set --audit-log or --data-dir to a writable path`, { cause: e });
    }
  }

  /** Entries queued and not yet on disk. */
  get pending(): number {
    return this.queue.length;
  }

  /** Bytes queued and not yet on disk. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues entries for the next group commit; resolves once they are on disk (rejects if the write failed). */
  append(entries: readonly AuditEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new TickflowError('PIPELINE_STATE', `the audit log "${this.path}" is closed`));
    for (const e of entries) {
      const line = `${JSON.stringify(e)}\n`;
      this.queue.push(line);
      this.queuedBytes += line.length;
    }
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.committing ??= this.commitLoop();
    return done;
  }

  /** Resolves once everything appended so far is on disk. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.committing === undefined) return Promise.resolve();
    return this.append([]);
  }

  private async commitLoop(): Promise<void> {
    // Let the entries of this turn of the event loop join the first commit.
    await new Promise<void>((r) => setImmediate(r));
    while (this.waiters.length > 0) {
      const lines = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.queuedBytes = 0;
      this.waiters = [];
      try {
        if (lines.length > 0) {
          const text = lines.join('');
          await this.fh.write(text);
          await this.fh.datasync();
          this.size += Buffer.byteLength(text);
          this.commits++;
          this.written += lines.length;
          if (this.size >= this.segmentBytes) await this.rotate();
        }
        for (const w of waiters) w.resolve();
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        const err = new TickflowError('SINK_FAILED', `audit journal ${this.path}: write failed: ${this.lastError}`, { cause: e });
        for (const w of waiters) w.reject(err);
      }
    }
    this.committing = undefined;
  }

  /** Seals the active file as the next numbered segment and starts a new one. */
  private async rotate(): Promise<void> {
    await this.fh.close();
    const sealed = segmentPath(this.path, this.nextSegment++);
    await rename(this.path, sealed);
    this.fh = await open(this.path, 'a');
    this.size = 0;
  }

  /** Writes what is queued, then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}
