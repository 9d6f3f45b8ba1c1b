import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TickflowError } from '@tickflow/core';

/** What the audit trail records. */
export type AuditType = 'login' | 'login_failed' | 'guest_login' | 'order' | 'fill' | 'order_rejected' | 'order_cancelled' | 'forbidden';

/** One line of the audit trail. */
export interface AuditEntry {
  readonly ts: number;
  readonly type: AuditType;
  readonly user: string;
  readonly [field: string]: unknown;
}

/**
 * The audit trail as an append-only NDJSON file: each entry is written and
 * fsync'd before `append` returns, so an acknowledged order or fill survives
 * a crash. A torn last line (power loss mid-write) is skipped on load.
 */
export class AuditLog {
  private fd: number;
  private readonly tail: AuditEntry[];

  private constructor(readonly path: string, fd: number, readonly loaded: readonly AuditEntry[], readonly skipped: number) {
    this.fd = fd;
    this.tail = loaded.slice(-1000);
  }

  /** The newest entries (up to 1000 are kept in memory), oldest first. */
  recent(limit: number): AuditEntry[] {
    return this.tail.slice(-limit);
  }

  /** Opens (creating folders) and reads back what is already there. */
  static open(path: string): AuditLog {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const entries: AuditEntry[] = [];
      let skipped = 0;
      if (existsSync(path)) {
        for (const line of readFileSync(path, 'utf8').split('\n')) {
          if (line.trim() === '') continue;
          try {
            entries.push(JSON.parse(line) as AuditEntry);
          } catch {
            skipped++;
          }
        }
      }
      return new AuditLog(path, openSync(path, 'a'), entries, skipped);
    } catch (e) {
      throw new TickflowError('INVALID_ARGUMENT', `cannot open the audit log "${path}": ${e instanceof Error ? e.message : String(e)}; set --audit-log or --data-dir to a writable path`, { cause: e });
    }
  }

  /** Appends one entry durably. */
  append(entry: AuditEntry): void {
    if (this.fd < 0) throw new TickflowError('PIPELINE_STATE', 'the audit log is closed');
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.fd);
    this.tail.push(entry);
    if (this.tail.length > 1000) this.tail.splice(0, this.tail.length - 1000);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
