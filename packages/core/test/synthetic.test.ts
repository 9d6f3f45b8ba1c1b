import { describe, expect, it } from 'vitest';
import type { Trade } from '../src/index.js';
import { TradeSchema, QuoteSchema, collect, pipeline } from '../src/index.js';
import { MarketSimulator, syntheticTrades } from '../src/synthetic/index.js';

describe('synthetic market feed', () => {
  it('is reproducible: the same seed gives the same trades', () => {
    const a = new MarketSimulator({ seed: 42, symbols: 5 });
    const b = new MarketSimulator({ seed: 42, symbols: 5 });
    const c = new MarketSimulator({ seed: 43, symbols: 5 });
    const ta = Array.from({ length: 1000 }, () => a.nextTrade());
    expect(Array.from({ length: 1000 }, () => b.nextTrade())).toEqual(ta);
    expect(Array.from({ length: 1000 }, () => c.nextTrade())).not.toEqual(ta);
  });

  it('makes valid trades and quotes with realistic shape: walks, round lots, both sides, spreads', () => {
    const m = new MarketSimulator({ seed: 1, symbols: ['AAPL', 'MSFT', 'TSLA'], rate: 100 });
    const trades = Array.from({ length: 5000 }, () => m.nextTrade());
    for (const t of trades) {
      expect(TradeSchema.safeParse(t).success).toBe(true);
      expect(t.bid!).toBeLessThanOrEqual(t.price);
      expect(t.ask!).toBeGreaterThanOrEqual(t.price);
    }
    expect(new Set(trades.map((t) => t.symbol))).toEqual(new Set(['AAPL', 'MSFT', 'TSLA']));
    expect(trades.filter((t) => t.size % 100 === 0).length / trades.length).toBeGreaterThan(0.6);
    expect(trades.filter((t) => t.side === 'buy').length / trades.length).toBeGreaterThan(0.3);
    // Event time advances at the configured mean rate (100/s → ~50 s for 5000 events).
    const span = trades.at(-1)!.ts - trades[0]!.ts;
    expect(span).toBeGreaterThan(40_000);
    expect(span).toBeLessThan(60_000);
    // Prices move, but a random walk of 5000 steps stays within a sane band.
    const aapl = trades.filter((t) => t.symbol === 'AAPL').map((t) => t.price);
    expect(Math.max(...aapl) / Math.min(...aapl)).toBeLessThan(1.5);
    expect(QuoteSchema.safeParse(m.nextQuote()).success).toBe(true);
  });

  it('injects bounded disorder and late events when asked', () => {
    const m = new MarketSimulator({ seed: 3, rate: 1000, outOfOrder: { probability: 0.3, maxDelay: 2_000 }, late: { probability: 0.01, delay: 60_000 } });
    const ts = Array.from({ length: 20_000 }, () => m.nextTrade().ts);
    let max = -Infinity;
    let late = 0;
    let disordered = 0;
    for (const t of ts) {
      if (t < max - 2_000) late++;
      else if (t < max) disordered++;
      max = Math.max(max, t);
    }
    expect(disordered).toBeGreaterThan(1000);
    expect(late).toBeGreaterThan(100);
    expect(late).toBeLessThan(400);
  });

  it('runs as a finite source on the simulated clock', async () => {
    const out = collect<Trade>();
    const stats = await pipeline(syntheticTrades({ seed: 9, count: 10_000, batchSize: 333 })).to(out).run();
    expect(stats.events).toBe(10_000);
    expect(out.values[0]).toEqual(new MarketSimulator({ seed: 9 }).nextTrade());
  });

  it('paces itself on the wall clock and stops promptly on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    const stats = await pipeline(syntheticTrades({ clock: 'wall', rate: 1000 })).to(() => {}).run({ signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(2_000);
    // ~300 events in 300 ms at 1000/s; generous bounds, this is not a timing test.
    expect(stats.events).toBeGreaterThan(50);
    expect(stats.events).toBeLessThan(2_000);
  });

  it('rejects bad options clearly', () => {
    expect(() => new MarketSimulator({ rate: -1 })).toThrow(/rate/);
    expect(() => new MarketSimulator({ symbols: 0 })).toThrow(/symbols/);
  });
});
