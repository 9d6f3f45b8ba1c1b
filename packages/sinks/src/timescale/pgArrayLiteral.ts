// PostgreSQL array literals for the unnest() bulk writes of timescaleWriter.ts,
// built in one pass: postgres.js's own array serializer escapes every element
// with a regular expression and was the largest single cost of writing raw
// trades (profile of `npm run bench -- e2e-drain`).

/** A `float8[]` literal: each number's shortest round-trip decimal (PostgreSQL reads it back exactly), NULL for null. */
export function float8ArrayLiteral(values: readonly (number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : v === 0 && 1 / v < 0 ? '-0' : String(v);
  }
  return `${out}}`;
}

/** An `int8[]` literal of safe integers, NULL for null. */
export function int8ArrayLiteral(values: readonly (number | null)[]): string {
  return float8ArrayLiteral(values);
}

/** A `bool[]` literal. */
export function boolArrayLiteral(values: readonly boolean[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += i > 0 ? (values[i] ? ',t' : ',f') : values[i] ? 't' : 'f';
  return `${out}}`;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;

/** A `text[]` literal: every element double-quoted (backslash and quote escaped), so commas, braces, spaces and the word NULL stay text; NULL for null. */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPE, '\\$&') : v}"`;
  }
  return `${out}}`;
}
