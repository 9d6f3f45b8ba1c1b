/**
 * Reads an event time as UTC epoch milliseconds from a number (epoch ms), a
 * numeric string, or an ISO-8601 string (`2024-01-19T10:30:45.123Z`, the seed's
 * `2024-01-19 10:30:45.123Z`; a string without zone is read as UTC).
 * Returns NaN when the value is not a time.
 */
export function toEpochMs(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== 'string') return value instanceof Date ? value.getTime() : Number.NaN;
  const s = value.trim();
  if (s.length === 0) return Number.NaN;
  const c = s.charCodeAt(0);
  // Plain numbers (CSV columns) are epoch milliseconds.
  if ((c >= 48 && c <= 57) || c === 45) {
    const n = Number(s);
    if (Number.isFinite(n)) return n;
  }
  let iso = s.length > 10 && s.charCodeAt(10) === 32 ? `${s.slice(0, 10)}T${s.slice(11)}` : s;
  if (iso.length > 10 && !/(Z|[+-]\d\d:?\d\d)$/i.test(iso)) iso += 'Z';
  return Date.parse(iso);
}
