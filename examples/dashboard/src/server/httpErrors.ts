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

/** Parses a request part with zod, or throws a 400 naming each bad field and value. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      if (i.path.length === 0) return i.message;
      let got: unknown = value;
      for (const k of i.path) got = got !== null && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[k] : undefined;
      return `${i.path.join('.')}: ${i.message}${got === undefined ? ' (missing)' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new HttpError(400, `invalid ${what}: ${problems.join('; ')}`);
  }
  return r.data;
}
