import { formatIssues } from '@tickflow/core';
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
    // Bounded: at most 5 problems, each value shown in at most 80 characters (no echo of large input).
    throw new HttpError(400, `invalid ${what}: ${formatIssues(r.error, { input: value ?? {}, limit: 5, label: (path) => path.join('.').slice(0, 64) })}`);
  }
  return r.data;
}
