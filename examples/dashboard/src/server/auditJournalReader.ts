import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { REPLAYED_TYPES, legacyAuditId } from './auditEntry.js';
import type { AuditEntry } from './auditEntry.js';

/** Entries a reader wants parsed besides the replayed ones (e.g. those PostgreSQL lacks). */
export interface JournalWant {
  readonly ids: (id: string) => boolean;
  readonly entry: (entry: AuditEntry) => void;
}

/** What a journal's files hold, as read at open. */
export interface JournalContents {
  /** The replayed entries in the journal, in file order, each id once. */
  readonly entries: AuditEntry[];
  /** The newest entries of any type, oldest first. */
  readonly tail: AuditEntry[];
  /** Unreadable lines skipped. */
  readonly skipped: number;
  /** Lines read (every type). */
  readonly lines: number;
  /** The greatest id read. */
  readonly maxId: string | undefined;
  /** False when the active file's last line has no newline (a torn write). */
  readonly endsWithNewline: boolean;
  /** The number of the segment the next rotation seals. */
  readonly nextSegment: number;
}

/** The name a sealed segment gets: `<file>.000001`, `<file>.000002`, … */
export function segmentPath(path: string, n: number): string {
  return `${path}.${String(n).padStart(6, '0')}`;
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

/**
 * Reads a journal's segments and active file (missing files: empty): every
 * file is streamed (bounded memory whatever its size); only the entries the
 * broker replays (`REPLAYED_TYPES`) and those `want` asks for are parsed, the
 * others only yield their id. The newest `tail` entries are read from the
 * end. A torn last line is skipped and counted; lines without an id (older
 * files) get a deterministic one.
 */
export async function readJournal(path: string, options: { readonly want?: JournalWant | undefined; readonly tail: number }): Promise<JournalContents> {
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
  const tail = await readTail(files, options.tail);
  for (const e of tail) if (maxId === undefined || e.id > maxId) maxId = e.id;
  const nextSegment = segments.length === 0 ? 1 : segments[segments.length - 1]!.n + 1;
  return { entries, tail, skipped, lines: lineNo, maxId, endsWithNewline, nextSegment };
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
