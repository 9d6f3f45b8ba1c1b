import type { z } from 'zod';

/** An error the API answers with its status and message (`{ "error": message }`). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** JSON of a value, cut to `max` characters. */
function shortJson(v: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

/** Parses a request part with zod, or throws a 400 naming each bad field and value. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      if (i.path.length === 0) return i.message;
      let got: unknown = value;
      for (const k of i.path) got = got !== null && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[k] : undefined;
      return `${i.path.join('.').slice(0, 64)}: ${i.message}${got === undefined ? ' (missing)' : ` (got ${shortJson(got)})`}`;
    });
    // Bounded: at most 5 problems, each value shown in at most 80 characters (no echo of large input).
    const shown = problems.slice(0, 5).join('; ');
    throw new HttpError(400, `invalid ${what}: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  }
  return r.data;
}
