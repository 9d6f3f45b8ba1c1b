import { TickflowError, describeError, redactUrl as redact } from '@tickflow/core';

/** The URL without its password, for messages (core's one redaction helper). */
export { redact };

/** What a driver error means, and what to do about it. */
export function explain(e: unknown, url: string): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const text = describeError(e);
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing accepts connections at ${redact(url)} (${text}): start the server or fix the url`;
    case 'CONNECT_TIMEOUT':
      return `no connection to ${redact(url)} within the connect timeout (${text}): is the server up and reachable? (a PGlite server takes one connection at a time)`;
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_ENDED':
    case 'CONNECTION_DESTROYED':
    case 'ECONNRESET':
    case '57P01':
      return `the connection to ${redact(url)} was lost (${text})`;
    case '28P01':
    case '28000':
      return `the server refused the credentials in the url (${text})`;
    case '3D000':
      return `the database in the url does not exist (${text})`;
    default:
      return code !== '' && !text.includes(code) ? `${text} (${code})` : text;
  }
}

/**
 * The driver's error without its bound parameters (postgres.js keeps every
 * parameter of the failed query on the error: a whole batch of rows), so a
 * logged TickflowError stays readable.
 */
function lightCause(e: unknown): unknown {
  if (!(e instanceof Error) || !('parameters' in e || 'args' in e)) return e;
  const out = new Error(e.message);
  out.name = e.name;
  const src = e as unknown as Record<string, unknown>;
  for (const key of ['code', 'severity', 'detail', 'hint', 'position', 'schema_name', 'table_name', 'column_name', 'constraint_name', 'routine']) {
    if (src[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = src[key];
  }
  if (typeof src.query === 'string') (out as unknown as Record<string, unknown>).query = src.query.length > 500 ? `${src.query.slice(0, 500)}…` : src.query;
  out.stack = e.stack;
  return out;
}

/** A driver error as a `SINK_FAILED` TickflowError saying what failed and what to do (a TickflowError passes through). */
export function fail(e: unknown, what: string, url: string): TickflowError {
  if (e instanceof TickflowError) return e;
  return new TickflowError('SINK_FAILED', `timescale store: ${what} failed: ${explain(e, url)}`, { cause: lightCause(e) });
}

const LOST_CONNECTION = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03']);

/**
 * Runs an idempotent operation, once more when the connection it used turned
 * out to be dead (a restarted server closes every pooled connection; the pool
 * opens a new one for the second try).
 */
export async function onceMoreIfLost<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !LOST_CONNECTION.has(code)) throw e;
    return run();
  }
}
