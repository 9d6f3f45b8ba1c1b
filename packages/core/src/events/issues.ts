import type { z } from 'zod';

/** Formats zod issues as one line: `price: expected number, received NaN; size: …`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
