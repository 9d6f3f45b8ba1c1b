import { describe, expect, it } from 'vitest';
import { applyFill, performance, unrealisedPnl } from '../../src/server/portfolio.js';
import { RateLimiter } from '../../src/server/rateLimiter.js';
import { TtlCache } from '../../src/server/ttlCache.js';
import { parseServerConfig } from '../../src/server/serverConfig.js';

const flat = { symbol: 'AAPL', quantity: 0, averageCost: 0, realisedPnl: 0 };

describe('portfolio maths', () => {
  it('averages the cost of buys and realises P&L on sells at the average cost', () => {
    let p = applyFill(flat, 'buy', 10, 100);
    p = applyFill(p, 'buy', 30, 120);
    expect(p.quantity).toBe(40);
    expect(p.averageCost).toBeCloseTo(115, 10);
    expect(unrealisedPnl(p, 125)).toBeCloseTo(400, 10);
    p = applyFill(p, 'sell', 20, 130);
    expect(p).toMatchObject({ quantity: 20, realisedPnl: 300 });
    expect(p.averageCost).toBeCloseTo(115, 10);
    p = applyFill(p, 'sell', 20, 110);
    expect(p).toMatchObject({ quantity: 0, averageCost: 0, realisedPnl: 200 });
  });

  it('computes return, max drawdown and volatility of an equity curve', () => {
    const perf = performance([100, 110, 99, 121]);
    expect(perf.totalReturn).toBeCloseTo(0.21, 10);
    expect(perf.maxDrawdown).toBeCloseTo(0.1, 10); // 110 → 99
    const r = [0.1, -0.1, 121 / 99 - 1];
    const mean = (r[0]! + r[1]! + r[2]!) / 3;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
    expect(perf.volatility).toBeCloseTo(sd, 10);
  });

  it('gives zeros for an empty or one-point curve', () => {
    expect(performance([])).toEqual({ totalReturn: 0, maxDrawdown: 0, volatility: 0 });
    expect(performance([100])).toEqual({ totalReturn: 0, maxDrawdown: 0, volatility: 0 });
  });
});

describe('RateLimiter', () => {
  it('allows a burst of rate requests, then asks to wait, then refills', () => {
    let now = 0;
    const rl = new RateLimiter(2, 2, () => now);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBe(1);
    expect(rl.take('b')).toBe(0);
    now = 500;
    expect(rl.take('a')).toBe(0);
  });
});

describe('TtlCache', () => {
  it('expires entries after the TTL and evicts the oldest when full', () => {
    let now = 0;
    const c = new TtlCache<number>(60_000, 2, () => now);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBe(2);
    now = 60_000;
    expect(c.get('c')).toBeUndefined();
  });
});

describe('server configuration', () => {
  it('names each bad value with its flag or variable', () => {
    let message = '';
    try {
      parseServerConfig({ port: '70000', rateLimit: '-1', users: 'bob:pw:boss' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/--port \/ PORT: .*<=65535 \(got "70000"\)/);
    expect(message).toMatch(/--rate-limit \/ RATE_LIMIT: .*\(got "-1"\)/);
    expect(message).toMatch(/TICKFLOW_USERS: "bob:pw:boss" must be name:password:role/);
  });

  it('defaults to port 3000, the demo users and an audit log under the data dir', () => {
    const c = parseServerConfig({});
    expect(c.port).toBe(3000);
    expect(c.users.map((u) => u.role)).toEqual(['viewer', 'trader', 'admin']);
    expect(c.auditLog).toMatch(/\.tickflow[/\\]audit\.ndjson$/);
  });
});
