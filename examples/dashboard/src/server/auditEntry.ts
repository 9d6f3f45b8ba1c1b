import { createHash, randomBytes } from 'node:crypto';

/** What the audit trail records. */
export type AuditType = 'login' | 'login_failed' | 'guest_login' | 'order' | 'fill' | 'order_rejected' | 'order_cancelled' | 'forbidden' | 'logout' | 'session_revoked' | 'refresh_reuse' | 'suppressed';

/** Entry types the paper broker replays at start (the trading state); the journal parses only these in full when it opens. */
export const REPLAYED_TYPES: ReadonlySet<string> = new Set(['order', 'fill', 'order_rejected', 'order_cancelled']);

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
