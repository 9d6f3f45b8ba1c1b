import { startPostgres } from '@tickflow/test-services';
import type { PostgresService } from '@tickflow/test-services';
import fc from 'fast-check';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boolArrayLiteral, float8ArrayLiteral, int8ArrayLiteral, textArrayLiteral } from '../../src/timescale/pgArrayLiteral.js';

// The literals are parsed by PostgreSQL itself: every value must come back exactly (numbers bit for bit, text byte for byte).
// Elements are read back one by one through unnest (postgres.js's own array result parser reads NULL elements as 'NULL' / NaN).
describe('PostgreSQL array literals of the bulk writes', () => {
  let pg: PostgresService;
  let sql: postgres.Sql;
  beforeAll(async () => {
    pg = await startPostgres();
    sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await pg?.stop();
  });

  it('float8[]: any double (negative zero, subnormals, extremes, NaN, ±Infinity) and NULL round-trip exactly', async () => {
    const special = [0, -0, 5e-324, -5e-324, 1.7976931348623157e308, 0.1, 0.30000000000000004, 1e21, 123456789.125, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.double(), fc.constantFrom(...special)), { maxLength: 60 }), async (values) => {
        const rows = await sql<{ v: number | null }[]>`SELECT v FROM unnest(${float8ArrayLiteral(values)}::float8[]) WITH ORDINALITY AS u(v, i) ORDER BY i`;
        expect(rows.map((r) => r.v).map((x) => (x === null ? null : Object.is(x, -0) ? '-0' : String(x)))).toEqual(values.map((x) => (x === null ? null : Object.is(x, -0) ? '-0' : String(x))));
      }),
      { numRuns: 60 },
    );
  });

  it('text[]: quotes, backslashes, commas, braces, spaces, the word NULL, empty strings, unicode and NULL round-trip', async () => {
    const tricky = ['a,b', '{x}', '"q"', 'back\\slash', ' lead', 'trail ', 'NULL', 'null', '', 'ünïcødé 株', '\\"', null];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')), fc.constantFrom(...tricky)), { maxLength: 40 }), async (values) => {
        const rows = await sql<{ v: string | null }[]>`SELECT v FROM unnest(${textArrayLiteral(values)}::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`;
        expect(rows.map((r) => r.v)).toEqual(values);
      }),
      { numRuns: 60 },
    );
  });

  it('int8[] and bool[]', async () => {
    const ints = await sql<{ v: string | null }[]>`SELECT v::text AS v FROM unnest(${int8ArrayLiteral([0, -1, 9007199254740991, null])}::int8[]) WITH ORDINALITY AS u(v, i) ORDER BY i`;
    expect(ints.map((r) => r.v)).toEqual(['0', '-1', '9007199254740991', null]);
    const bools = await sql<{ v: boolean }[]>`SELECT v FROM unnest(${boolArrayLiteral([true, false, true])}::bool[]) WITH ORDINALITY AS u(v, i) ORDER BY i`;
    expect(bools.map((r) => r.v)).toEqual([true, false, true]);
    const [empty] = await sql<{ n: number }[]>`SELECT cardinality(${float8ArrayLiteral([])}::float8[]) AS n`;
    expect(empty!.n).toBe(0);
  });
});
