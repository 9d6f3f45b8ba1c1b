import { z } from 'zod';
import { TickflowError } from '../errors.js';
import { TIMEFRAMES } from '../duration.js';
import { formatIssues } from './issues.js';
import { SymbolSchema } from './symbol.js';
import { InvalidEvent } from './trade.js';

/** The version of the user-event schema this code reads and writes. */
export const USER_EVENT_VERSION = 1;

/** Every user-event type: a bounded set (metric labels and store enums rely on it). */
export const USER_EVENT_TYPES = ['page_view', 'symbol_selected', 'timeframe_changed', 'order_form_opened', 'error', 'session_start', 'session_end'] as const;

/** A user-event type. */
export type UserEventType = (typeof USER_EVENT_TYPES)[number];

/** Longest accepted values, so one event cannot carry an unbounded payload. */
export const USER_EVENT_LIMITS = {
  /** Characters of an id or a session id. */
  id: 64,
  /** Characters of a page path or referrer. */
  path: 512,
  /** Characters of short texts (title, user agent, app version). */
  text: 256,
  /** Characters of an error message. */
  message: 1_000,
  /** Characters of an error stack. */
  stack: 4_000,
} as const;

const PRINTABLE = /^[\x21-\x7e]+$/;
const IdSchema = z
  .string()
  .min(8, 'id must be 8–64 characters')
  .max(USER_EVENT_LIMITS.id, `id must be at most ${USER_EVENT_LIMITS.id} characters`)
  .regex(/^[A-Za-z0-9_-]+$/, 'id must be letters, digits, _ or -');
const text = (max: number, what: string) => z.string().max(max, `${what} must be at most ${max} characters`);

/** Fields every user event carries. */
const common = {
  version: z.literal(USER_EVENT_VERSION, `version must be ${USER_EVENT_VERSION} (the user-event schema this server reads)`),
  /** Unique id (the client's, so a re-sent event is the same event); the server assigns one when missing. */
  id: IdSchema.optional(),
  ts: z.number().int('ts must be whole epoch milliseconds').nonnegative('ts must be ≥ 0').describe('when it happened on the client, UTC epoch milliseconds'),
  sessionId: z.string().min(1, 'sessionId must not be empty').max(USER_EVENT_LIMITS.id, `sessionId must be at most ${USER_EVENT_LIMITS.id} characters`).regex(PRINTABLE, 'sessionId must be printable ASCII without spaces'),
  client: z.enum(['web', 'mobile', 'desktop', 'node']).optional(),
  appVersion: text(USER_EVENT_LIMITS.text, 'appVersion').optional(),
};

const TimeframeSchema = z.enum(TIMEFRAMES);

/**
 * A user event from a web, mobile or desktop client, discriminated by
 * `type`, with a schema `version`. Objects are strict: an unknown field is
 * an error, not silently dropped.
 *
 * @example
 * ```ts
 * UserEventSchema.parse({ version: 1, type: 'symbol_selected', ts: Date.now(), sessionId: 's-1', symbol: 'AAPL', source: 'watchlist' });
 * ```
 */
export const UserEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...common, type: z.literal('page_view'), path: text(USER_EVENT_LIMITS.path, 'path'), referrer: text(USER_EVENT_LIMITS.path, 'referrer').optional(), title: text(USER_EVENT_LIMITS.text, 'title').optional() }),
  z.strictObject({ ...common, type: z.literal('symbol_selected'), symbol: SymbolSchema, source: z.enum(['watchlist', 'search', 'keyboard', 'address', 'other']).optional() }),
  z.strictObject({ ...common, type: z.literal('timeframe_changed'), symbol: SymbolSchema.optional(), from: TimeframeSchema.optional(), to: TimeframeSchema }),
  z.strictObject({ ...common, type: z.literal('order_form_opened'), symbol: SymbolSchema.optional(), side: z.enum(['buy', 'sell']).optional() }),
  z.strictObject({ ...common, type: z.literal('error'), message: text(USER_EVENT_LIMITS.message, 'message').min(1, 'message must not be empty'), stack: text(USER_EVENT_LIMITS.stack, 'stack').optional(), source: text(USER_EVENT_LIMITS.path, 'source').optional() }),
  z.strictObject({ ...common, type: z.literal('session_start'), userAgent: text(USER_EVENT_LIMITS.text, 'userAgent').optional(), screen: z.strictObject({ width: z.number().int().nonnegative().max(100_000), height: z.number().int().nonnegative().max(100_000) }).optional() }),
  z.strictObject({ ...common, type: z.literal('session_end'), durationMs: z.number().int().nonnegative('durationMs must be ≥ 0').optional(), reason: z.enum(['pagehide', 'logout', 'timeout', 'closed']).optional() }),
]);

/** A user event (see UserEventSchema). */
export type UserEvent = z.infer<typeof UserEventSchema>;

/**
 * A user event as the server keeps it: the client's event with its id
 * (assigned when the client sent none), when the server received it (the
 * event time of the per-minute counts: client clocks are not trusted to
 * order windows) and who sent it.
 */
export const UserEventRecordSchema = z.intersection(
  UserEventSchema,
  z.object({
    id: IdSchema,
    receivedAt: z.number().int().nonnegative().describe('when the server took it in, UTC epoch milliseconds'),
    user: z.string().min(1).max(USER_EVENT_LIMITS.id),
  }),
);

/** A stored user event (see UserEventRecordSchema). */
export type UserEventRecord = UserEvent & { readonly id: string; readonly receivedAt: number; readonly user: string };

const TYPES: ReadonlySet<string> = new Set(USER_EVENT_TYPES);

function precheck(raw: unknown, what: string): string | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return `expected a ${what} object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !TYPES.has(type)) return `type: unknown user-event type ${JSON.stringify(type) ?? 'undefined'}, expected one of ${USER_EVENT_TYPES.join(', ')}`;
  return undefined;
}

/** Validates one user event from a client, or an InvalidEvent with the reason. */
export function normalizeUserEvent(raw: unknown): UserEvent | InvalidEvent {
  const bad = precheck(raw, 'user event');
  if (bad !== undefined) return new InvalidEvent(bad, raw);
  const parsed = UserEventSchema.safeParse(raw);
  return parsed.success ? parsed.data : new InvalidEvent(formatIssues(parsed.error), raw);
}

/** Validates one stored user event (from the `events` topic), or an InvalidEvent with the reason. */
export function normalizeUserEventRecord(raw: unknown): UserEventRecord | InvalidEvent {
  const bad = precheck(raw, 'user event');
  if (bad !== undefined) return new InvalidEvent(bad, raw);
  const parsed = UserEventRecordSchema.safeParse(raw);
  return parsed.success ? (parsed.data as UserEventRecord) : new InvalidEvent(formatIssues(parsed.error), raw);
}

/** Parses a user event or throws a TickflowError with code `INVALID_EVENT`. */
export function parseUserEvent(raw: unknown): UserEvent {
  const e = normalizeUserEvent(raw);
  if (e instanceof InvalidEvent) throw new TickflowError('INVALID_EVENT', `invalid user event: ${e.reason}`);
  return e;
}
