import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TickflowError } from '@tickflow/core';

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

/** Options of AuditJournal.open. */
export interface AuditJournalOptions {
  /** Size at which the active file is sealed as a numbered segment and a new one begins. Default 64 MiB. */
  readonly segmentBytes?: number | undefined;
  /** Called for every entry read whose id it wants (e.g. those PostgreSQL lacks), parsed; replayed entries are offered too. */
  readonly want?: { readonly ids: (id: string) => boolean; readonly entry: (entry: AuditEntry) => void } | undefined;
  /** Entries of the newest segments kept for the in-memory tail. Default 1000. */
  readonly tail?: number | undefined;
}

/** Longest journal line read back; a longer one (not written by this code) is skipped and counted. */
const MAX_LINE = 1 << 20;
const NL = 0x0a;
const ID_KEY = Buffer.from('"id":"');
const REPLAY_MARKERS = [...REPLAYED_TYPES].map((t) => Buffer.from(`"type":"${t}"`));

const SCAN_PREFIXES = [Buffer.from('"type":"order'), Buffer.from('"type":"fill"')];

function hasReplayMarker(line: Buffer): boolean {
  for (const m of REPLAY_MARKERS) if (line.indexOf(m) >= 0) return true;
  return false;
}

/** The entry id of a line that is not parsed in full: the last `"id":"…"` (entries are written with the id last; nested strings are escaped, so cannot fake it). */
function idOfLine(line: Buffer): string | undefined {
  const at = line.lastIndexOf(ID_KEY);
  if (at < 0) return undefined;
  const end = line.indexOf(0x22, at + ID_KEY.length);
  if (end < 0 || end - at > 80) return undefined;
  return line.toString('latin1', at + ID_KEY.length, end);
}

function parseEntry(line: string, lineNo: number): AuditEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const raw = parsed as Partial<AuditEntry>;
  return (typeof raw.id === 'string' && raw.id !== '' ? raw : { id: legacyAuditId(lineNo, line), ...raw }) as AuditEntry;
}

/** Sealed segments of a journal, oldest first: `<file>.000001`, `<file>.000002`, … */
async function segmentsOf(path: string): Promise<{ path: string; n: number }[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: { path: string; n: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const suffix = name.slice(base.length + 1);
    if (/^\d{6,}$/.test(suffix)) out.push({ path: join(dir, name), n: Number(suffix) });
  }
  return out.sort((a, b) => a.n - b.n);
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

  /** Opens (creating folders and the file) and streams back what is there. */
  static async open(path: string, options: AuditJournalOptions = {}): Promise<AuditJournal> {
    try {
      await mkdir(dirname(path), { recursive: true });
      const segments = await segmentsOf(path);
      const files = [...segments.map((s) => s.path), path];
      const entries: AuditEntry[] = [];
      const seen = new Set<string>();
      let skipped = 0;
      let lineNo = 0;
      let maxId: string | undefined;
      const want = options.want;
      const onLine = (line: Buffer): void => {
        const n = lineNo++;
        let start = 0;
        while (start < line.length && (line[start] === 0x20 || line[start] === 0x0d || line[start] === 0x09)) start++;
        if (start === line.length) return;
        const replayed = hasReplayMarker(line);
        let id = replayed ? undefined : idOfLine(line);
        if (replayed || id === undefined || (want !== undefined && want.ids(id))) {
          const text = line.toString('utf8');
          const entry = parseEntry(text, n);
          if (entry === undefined) {
            skipped++;
            return;
          }
          id = entry.id;
          if (REPLAYED_TYPES.has(String(entry.type))) {
            if (seen.has(id)) return;
            seen.add(id);
            entries.push(entry);
          }
          if (want !== undefined && want.ids(id)) want.entry(entry);
        }
        if (maxId === undefined || id > maxId) maxId = id;
      };
      let endsWithNewline = true;
      for (const file of files) {
        // Files whose first line has an id (everything written since ids exist) are scanned for the replayed types only;
        // older files (legacy ids derive from line numbers) and merges with PostgreSQL (`want`: every id) go line by line.
        const fast = want === undefined && (await firstLineHasId(file));
        const r = fast
          ? await scanReplayed(file, (line) => {
              const entry = parseEntry(line.toString('utf8'), -1);
              if (entry === undefined || !REPLAYED_TYPES.has(String(entry.type))) {
                if (entry === undefined) skipped++;
                return;
              }
              if (maxId === undefined || entry.id > maxId) maxId = entry.id;
              if (seen.has(entry.id)) return;
              seen.add(entry.id);
              entries.push(entry);
            })
          : await streamLines(file, onLine);
        skipped += r.tooLong;
        // A torn line at the end of a file (power loss mid-write) was offered as a line and counted above when it did not parse.
        if (file === path) endsWithNewline = r.bytes === 0 || r.lastByte === NL;
      }
      const tail = await readTail(files, options.tail ?? 1000);
      for (const e of tail) if (maxId === undefined || e.id > maxId) maxId = e.id;
      const fh = await open(path, 'a');
      let size = (await fh.stat()).size;
      if (!endsWithNewline) {
        await fh.write('\n');
        await fh.datasync();
        size++;
      }
      const next = segments.length === 0 ? 1 : segments[segments.length - 1]!.n + 1;
      return new AuditJournal(path, fh, size, next, options.segmentBytes ?? 64 * 1024 * 1024, entries, tail, skipped, lineNo, maxId);
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
    const sealed = `${this.path}.${String(this.nextSegment++).padStart(6, '0')}`;
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

/** Whether a file's first line carries an id (written since ids exist). */
async function firstLineHasId(file: string): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    return true;
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead === 0) return true;
    const nl = buf.indexOf(NL);
    const first = buf.toString('utf8', 0, nl < 0 || nl > bytesRead ? bytesRead : nl).trim();
    // The entry's own id: written last by this code, first by PostgreSQL's jsonb (a nested order's "id" does not count).
    return /"id":"[^"\\]+"\}$/.test(first) || first.startsWith('{"id":"');
  } finally {
    await fh.close();
  }
}

/**
 * Streams a file and offers only the lines holding a replayed type's marker
 * (found with a native search over each chunk, not line by line), in file
 * order; a last line without a newline is looked at too.
 */
async function scanReplayed(file: string, onLine: (line: Buffer) => void): Promise<{ bytes: number; lastByte: number; tooLong: number }> {
  let bytes = 0;
  let lastByte = NL;
  let tooLong = 0;
  let carry: Buffer | undefined;
  const scan = (region: Buffer): void => {
    const starts = new Set<number>();
    // Two native passes (`"type":"order` covers order, order_rejected and order_cancelled); the line is checked exactly after.
    for (const m of SCAN_PREFIXES) {
      for (let at = region.indexOf(m); at >= 0; at = region.indexOf(m, at + m.length)) starts.add(region.lastIndexOf(NL, at) + 1);
    }
    for (const start of [...starts].sort((a, b) => a - b)) {
      const end = region.indexOf(NL, start);
      const line = region.subarray(start, end < 0 ? region.length : end);
      if (hasReplayMarker(line)) onLine(line);
    }
  };
  try {
    await stat(file);
  } catch {
    return { bytes: 0, lastByte: NL, tooLong: 0 };
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
    const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    const lastNl = data.lastIndexOf(NL);
    if (lastNl < 0) {
      carry = data.length > MAX_LINE ? undefined : data;
      if (carry === undefined) tooLong++;
      continue;
    }
    scan(data.subarray(0, lastNl));
    const rest = data.subarray(lastNl + 1);
    carry = rest.length === 0 ? undefined : Buffer.from(rest);
  }
  if (carry !== undefined && carry.length > 0) scan(carry);
  return { bytes, lastByte, tooLong };
}

/** Streams a file's lines (without the newline; a last line without one is offered too). Lines over MAX_LINE are skipped and counted. */
async function streamLines(file: string, onLine: (line: Buffer) => void): Promise<{ bytes: number; lastByte: number; tooLong: number }> {
  let bytes = 0;
  let lastByte = NL;
  let tooLong = 0;
  let carry: Buffer[] = [];
  let carryLen = 0;
  let skipping = false;
  try {
    await stat(file);
  } catch {
    return { bytes: 0, lastByte: NL, tooLong: 0 };
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      if (skipping) skipping = false;
      else if (carryLen > 0) {
        carry.push(chunk.subarray(start, nl));
        onLine(Buffer.concat(carry));
        carry = [];
        carryLen = 0;
      } else onLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length && !skipping) {
      carryLen += chunk.length - start;
      if (carryLen > MAX_LINE) {
        tooLong++;
        skipping = true;
        carry = [];
        carryLen = 0;
      } else carry.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (carryLen > 0 && !skipping) onLine(Buffer.concat(carry));
  return { bytes, lastByte, tooLong };
}

/** The newest `n` entries of the files (newest file last), read from their ends. */
async function readTail(files: readonly string[], n: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let f = files.length - 1; f >= 0 && out.length < n; f--) {
    let fh: FileHandle;
    try {
      fh = await open(files[f]!, 'r');
    } catch {
      continue;
    }
    try {
      const size = (await fh.stat()).size;
      const want = Math.min(size, 4 * 1024 * 1024);
      const buf = Buffer.alloc(want);
      await fh.read(buf, 0, want, size - want);
      const lines = buf.toString('utf8').split('\n');
      if (want < size) lines.shift(); // partial first line
      const parsed: AuditEntry[] = [];
      for (const l of lines) {
        if (l.trim() === '') continue;
        const e = parseEntry(l, -1);
        if (e !== undefined && typeof (e as { id?: unknown }).id === 'string' && !e.id.startsWith('000000000-')) parsed.push(e);
      }
      out.unshift(...parsed.slice(-(n - out.length)));
    } finally {
      await fh.close();
    }
  }
  return out;
}
