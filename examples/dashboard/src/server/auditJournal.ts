import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { TickflowError } from '@tickflow/core';

/** What the audit trail records. */
export type AuditType = 'login' | 'login_failed' | 'guest_login' | 'order' | 'fill' | 'order_rejected' | 'order_cancelled' | 'forbidden';

/** An audit entry as the caller gives it (the trail adds the id). */
export interface AuditEntryInput {
  /** When it happened (epoch ms; for a fill, the time of the trade that filled it). */
  readonly ts: number;
  readonly type: AuditType;
  readonly user: string;
  readonly [field: string]: unknown;
}

/** One entry of the audit trail. */
export interface AuditEntry extends AuditEntryInput {
  /**
   * Unique and sortable in append order: 9 base-36 digits of the append time
   * (ms), 4 of a per-millisecond counter, `-`, and the writer's random node id.
   * Entries written before ids existed get `000000000-<line>-<hash>`, which
   * sorts before every newer id, in file order.
   */
  readonly id: string;
}

const NEW_ID = /^([0-9a-z]{9})([0-9a-z]{4})-[0-9a-z]+$/;
const COUNTER_LIMIT = 36 ** 4;

/**
 * Makes audit ids: monotonic for one writer (never behind an id it has seen,
 * even when the clock steps back), unique across writers (random node id).
 */
export class AuditIds {
  private lastMs = 0;
  private counter = 0;

  constructor(readonly node: string = randomBytes(4).toString('hex')) {}

  /** A new id, greater than every id made or observed before. */
  next(now = Date.now()): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = 0;
    } else if (++this.counter >= COUNTER_LIMIT) {
      this.lastMs++;
      this.counter = 0;
    }
    return `${this.lastMs.toString(36).padStart(9, '0')}${this.counter.toString(36).padStart(4, '0')}-${this.node}`;
  }

  /** Keeps later ids above `id` (ids loaded at start). */
  observe(id: string): void {
    const m = NEW_ID.exec(id);
    if (m === null) return;
    const ms = parseInt(m[1]!, 36);
    const counter = parseInt(m[2]!, 36);
    if (ms > this.lastMs || (ms === this.lastMs && counter > this.counter)) {
      this.lastMs = ms;
      this.counter = counter;
    }
  }
}

/** The id of a line written before entries had ids: deterministic from its position and content. */
export function legacyAuditId(line: number, text: string): string {
  return `000000000-${line.toString(36).padStart(8, '0')}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** Orders entries by id (code-unit order, the same as PostgreSQL's "C" collation): append order. */
export function byAuditId(a: AuditEntry, b: AuditEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The local audit journal: an append-only NDJSON file, written and fsync'd
 * before `append` returns, so an acknowledged order or fill survives a crash
 * whatever happens to any remote store. On open, a torn last line (power loss
 * mid-write) is skipped and counted, and a missing final newline is restored
 * so the next entry starts on a line of its own; lines without an id (older
 * files) get a deterministic one.
 */
export class AuditJournal {
  private fd: number;

  private constructor(
    readonly path: string,
    fd: number,
    /** The entries in the file, in file order, each id once. */
    readonly entries: readonly AuditEntry[],
    /** Unreadable lines skipped on open. */
    readonly skipped: number,
  ) {
    this.fd = fd;
  }

  /** Opens (creating folders and the file) and reads back what is there. */
  static open(path: string): AuditJournal {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const entries: AuditEntry[] = [];
      const seen = new Set<string>();
      let skipped = 0;
      let text = '';
      if (existsSync(path)) {
        text = readFileSync(path, 'utf8');
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!;
          if (line.trim() === '') continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch {
            skipped++;
            continue;
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
            skipped++;
            continue;
          }
          const raw = parsed as Partial<AuditEntry>;
          const entry = (typeof raw.id === 'string' && raw.id !== '' ? raw : { id: legacyAuditId(i, line), ...raw }) as AuditEntry;
          if (seen.has(entry.id)) continue;
          seen.add(entry.id);
          entries.push(entry);
        }
      }
      const fd = openSync(path, 'a');
      if (text !== '' && !text.endsWith('\n')) {
        writeSync(fd, '\n');
        fsyncSync(fd);
      }
      return new AuditJournal(path, fd, entries, skipped);
    } catch (e) {
      throw new TickflowError('INVALID_ARGUMENT', `cannot open the audit log "${path}": ${e instanceof Error ? e.message : String(e)}; set --audit-log or --data-dir to a writable path`, { cause: e });
    }
  }

  /** Appends entries durably (one write, one fsync). */
  append(entries: readonly AuditEntry[]): void {
    if (this.fd < 0) throw new TickflowError('PIPELINE_STATE', `the audit log "${this.path}" is closed`);
    if (entries.length === 0) return;
    let text = '';
    for (const e of entries) text += `${JSON.stringify(e)}\n`;
    writeSync(this.fd, text);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
