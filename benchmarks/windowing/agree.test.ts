import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { TradeGenerator, fingerprint } from './generator.mjs';
// @ts-expect-error plain .mjs benchmark modules have no type declarations
import { IMPLEMENTATIONS } from './implementations.mjs';

type Candle = { symbol: string; start: number; open: number; high: number; low: number; close: number; volume: number; trades: number; vwap: number };
type Impl = (onCandle: (c: Candle) => void) => { push(gen: unknown, n: number): void; end(): Promise<void> };

async function runImpl(name: string, symbols: number, trades: number): Promise<Candle[]> {
  const gen = new TradeGenerator(symbols, 7, 5);
  const out: Candle[] = [];
  const run = (IMPLEMENTATIONS as Record<string, Impl>)[name]!((c) => out.push(c));
  for (let done = 0; done < trades; ) {
    const n = gen.next(Math.min(10_000, trades - done));
    run.push(gen, n);
    done += n;
  }
  await run.end();
  return out;
}

describe('windowing benchmark contenders', () => {
  it('every implementation computes the same candles as tickflow', async () => {
    for (const symbols of [3, 500]) {
      const reference = await runImpl('tickflow-columnar', symbols, 60_000);
      expect(reference.length).toBeGreaterThan(symbols);
      expect(reference.reduce((n, c) => n + c.trades, 0)).toBe(60_000);
      for (const name of Object.keys(IMPLEMENTATIONS as object)) {
        const candles = await runImpl(name, symbols, 60_000);
        expect(fingerprint(candles), `${name} with ${symbols} symbols`).toBe(fingerprint(reference));
      }
    }
  });
});
