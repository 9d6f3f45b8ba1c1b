import type { z } from 'zod';

/** Options of `formatIssues`. */
export interface FormatIssuesOptions {
  /** Label of an issue about the value as a whole (empty path), such as `'(options)'`. Default: none (the message alone). */
  readonly root?: string;
}

/**
 * Formats zod issues as one line: `price: expected number, received NaN; size: …`.
 * The one formatter for every boundary (options, events, requests).
 *
 * @example
 * ```ts
 * const r = OptionsSchema.safeParse(options);
 * if (!r.success) throw new TickflowError('INVALID_ARGUMENT', `invalid options: ${formatIssues(r.error, { root: '(options)' })}`);
 * ```
 */
export function formatIssues(error: z.ZodError, { root }: FormatIssuesOptions = {}): string {
  return error.issues
    .map((issue) => {
      if (issue.path.length > 0) return `${issue.path.join('.')}: ${issue.message}`;
      return root === undefined ? issue.message : `${root}: ${issue.message}`;
    })
    .join('; ');
}
