import type { z } from 'zod';

/** Options of `formatIssues`. */
export interface FormatIssuesOptions {
  /** Label of an issue about the value as a whole (empty path), such as `'(options)'`. Default: none (the message alone). */
  readonly root?: string;
  /**
   * The value that was parsed. When given, each issue on a field says what it received: `(got "70000")`, or
   * `(missing)`. Default: not shown.
   */
  readonly input?: unknown;
  /** How a field is named from its path (e.g. a config key as its CLI flag). Default: the path joined with dots. */
  readonly label?: (path: readonly PropertyKey[]) => string;
  /** How a received value is shown. Default: its JSON, cut at 80 characters (no echo of large input). */
  readonly show?: (value: unknown, path: readonly PropertyKey[]) => string;
  /** At most this many issues, then `; and N more`. Default: all. */
  readonly limit?: number;
  /** Between two issues. Default: `'; '` (one line). */
  readonly separator?: string;
}

/** JSON of a value, cut to `max` characters. */
function shortJson(value: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * Formats zod issues as one line: `price: expected number, received NaN; size: …`.
 * The one formatter for every boundary (options, events, requests, server configuration).
 *
 * @example
 * ```ts
 * const r = OptionsSchema.safeParse(options);
 * if (!r.success) throw new TickflowError('INVALID_ARGUMENT', `invalid options: ${formatIssues(r.error, { root: '(options)' })}`);
 * // with the received values, at most 5 issues: "size: Number must be greater than 0 (got -1)"
 * formatIssues(r.error, { input: options, limit: 5 });
 * ```
 */
export function formatIssues(error: z.ZodError, options: FormatIssuesOptions = {}): string {
  const { root, label, show = (value: unknown) => shortJson(value), limit = Infinity, separator = '; ' } = options;
  const withInput = 'input' in options;
  const lines = error.issues.slice(0, limit).map((issue) => {
    if (issue.path.length === 0) return root === undefined ? issue.message : `${root}: ${issue.message}`;
    const name = label === undefined ? issue.path.join('.') : label(issue.path);
    if (!withInput) return `${name}: ${issue.message}`;
    const got = valueAt(options.input, issue.path);
    return `${name}: ${issue.message} ${got === undefined ? '(missing)' : `(got ${show(got, issue.path)})`}`;
  });
  const more = error.issues.length - lines.length;
  return `${lines.join(separator)}${more > 0 ? `${separator}and ${more} more` : ''}`;
}
