// The correlation_matrix table of the Timescale/PostgreSQL store, against a real
// PostgreSQL 15 (Debian's, started by @tickflow/test-services): the matrices
// correlation() emits go in through the sink and come back equal, rewrites are
// idempotent, and reads pick a time and a subset of symbols.
import type { Trade } from '@tickflow/core';
import { collect, fromArray, keyBy, pipeline } from '@tickflow/core';
import { startPostgres } from '@tickflow/test-services';
import type { RunningService } from '@tickflow/test-services';
import type { CorrelationMatrix } from '@tickflow/windowing';
import { correlation } from '@tickflow/windowing';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimescaleStore } from '../../src/timescale/index.js';

let pg: RunningService;
let store: TimescaleStore;
const schema = `tf_corr_${process.pid}`;
const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 19, 14, 30, 0);

beforeAll(async () => {
  pg = await startPostgres();
  store = await TimescaleStore.connect({ url: pg.url, schema, log: () => {} });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await pg?.stop();
});

/** Ten symbols over 12 minutes: random walks, one symbol flat (NaN correlations), one joining late. */
function trades(): Trade[] {
  let seed = 3;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const out: Trade[] = [];
  const price = new Map<string, number>();
  for (let k = 0; k < 12; k++) {
    for (let s = 0; s < 10; s++) {
      const sym = `SYM${s}`;
      if (s === 9 && k < 6) continue;
      const p = s === 8 ? 42 : (price.get(sym) ?? 100) * Math.exp((rnd() - 0.5) * 0.02);
      price.set(sym, p);
      out.push({ symbol: sym, ts: T0 + k * MIN + 1_000 * s, price: p, size: 1 });
    }
  }
  return out;
}

async function matrices(): Promise<CorrelationMatrix[]> {
  const out = collect<CorrelationMatrix>();
  await pipeline(fromArray(trades())).pipe(keyBy('symbol'), correlation({ interval: '1m', lookback: 5 })).to(out).run();
  return out.values;
}

const plain = (m: { start: number; end: number; symbols: readonly string[]; counts: readonly number[]; values: Float64Array | readonly number[] }) => ({ ...m, values: Array.from(m.values) });

describe('Timescale correlation_matrix', () => {
  it('stores what correlation() emits and reads the latest matrix back equal (NaN as NULL)', async () => {
    const emitted = await matrices();
    expect(emitted).toHaveLength(11);
    const table = store.correlationMatrices();
    await pipeline(fromArray(emitted)).to(table.sink()).run();
    const last = emitted.at(-1)!;
    const back = await table.read({ interval: '1m', lookback: 5 });
    expect(plain(back!)).toStrictEqual(plain(last));
    expect(Array.from(back!.values).some(Number.isNaN)).toBe(true);
    const sql = postgres(pg.url, { onnotice: () => {} });
    try {
      const [c] = await sql<{ n: string; nulls: string }[]>`SELECT count(*)::text AS n, count(*) FILTER (WHERE value IS NULL)::text AS nulls FROM ${sql(schema)}.correlation_matrix`;
      // Every pair above the diagonal and the diagonal itself (each symbol's returns).
      const rows = emitted.reduce((s, m) => s + (m.symbols.length * (m.symbols.length + 1)) / 2, 0);
      expect(Number(c!.n)).toBe(rows);
      expect(Number(c!.nulls)).toBeGreaterThan(0);
      // Written again (a replay): still one row per matrix and pair.
      await table.write(emitted);
      const [again] = await sql<{ n: string }[]>`SELECT count(*)::text AS n FROM ${sql(schema)}.correlation_matrix`;
      expect(Number(again!.n)).toBe(rows);
    } finally {
      await sql.end();
    }
  });

  it('reads the matrix at a time and for some symbols, in the order asked', async () => {
    const emitted = await matrices();
    const table = store.correlationMatrices();
    const m = emitted[4]!;
    const back = await table.read({ interval: '1m', lookback: 5, at: m.end + 30_000, symbols: ['SYM3', 'SYM1', 'NOPE'] });
    expect(back!.end).toBe(m.end);
    expect(back!.symbols).toEqual(['SYM3', 'SYM1']);
    const n = m.symbols.length;
    const r31 = m.values[m.symbols.indexOf('SYM3') * n + m.symbols.indexOf('SYM1')]!;
    expect(Array.from(back!.values)).toEqual([1, r31, r31, 1]);
    expect(await table.read({ interval: '1m', lookback: 5, at: T0 })).toBeUndefined();
    expect(await table.read({ interval: '5m', lookback: 5 })).toBeUndefined();
  });

  it('refuses a malformed matrix through the sink (dead letter) and in write()', async () => {
    const table = store.correlationMatrices();
    const bad = { interval: '1m', lookback: 5, start: 0, end: MIN, symbols: ['A', 'B'], counts: [2, 2], values: [1, 0.5, 0.5] };
    await expect(table.write([bad])).rejects.toThrow(/2² values/);
    const dead = collect<unknown>();
    const sink = table.sink({ deadLetter: dead });
    await sink.write([bad]);
    await sink.close();
    expect(dead.values).toHaveLength(1);
  });
});
