/** Userinfo of a URL (`//user:password@`), anywhere in a string (lists of URLs included). */
const USERINFO = /\/\/([^/@\s:]*)(:[^/@\s]*)?@/g;

/**
 * A URL (or a string holding URLs) with every password replaced by `***`,
 * the user name kept: safe for logs and error messages.
 *
 * @example
 * ```ts
 * redactUrl('postgres://app:s3cret@db:5432/ticks'); // 'postgres://app:***@db:5432/ticks'
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_m: string, user: string, password: string | undefined) => (password === undefined ? `//${user}@` : `//${user}:***@`));
}
