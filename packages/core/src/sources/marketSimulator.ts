import { z } from 'zod';
import { TickflowError } from '../errors.js';
import { formatIssues } from '../events/issues.js';
import type { Quote } from '../events/quote.js';
import type { Trade } from '../events/trade.js';
import { SeededRandom } from './seededRandom.js';

const DisorderSchema = z.object({ probability: z.number().min(0).max(1), maxDelay: z.number().nonnegative() }).strict();
const LateSchema = z.object({ probability: z.number().min(0).max(1), delay: z.number().positive() }).strict();

/** zod schema of MarketSimulatorOptions. */
export const MarketSimulatorOptionsSchema = z
  .object({
    seed: z.number().int().optional(),
    symbols: z.union([z.number().int().min(1).max(100_000), z.array(z.string().min(1).max(32)).min(1)]).optional(),
    rate: z.number().positive().optional(),
    clock: z.enum(['simulated', 'wall']).optional(),
    start: z.number().optional(),
    outOfOrder: DisorderSchema.optional(),
    late: LateSchema.optional(),
    startPrices: z.record(z.string(), z.number().positive().finite()).optional(),
    volumeShape: z.enum(['flat', 'intraday']).optional(),
  })
  .strict();

/** Settings of the synthetic market. */
export interface MarketSimulatorOptions {
  /** Seed: the same seed gives the same sequence of symbols, prices, sizes and sides. Default 1. */
  readonly seed?: number;
  /** How many symbols (named SYM0001…), or their names. Default 10. */
  readonly symbols?: number | readonly string[];
  /** Mean events per second (all symbols together). Default 1000. */
  readonly rate?: number;
  /**
   * `'simulated'` (default): event times start at `start` and advance by
   * exponential gaps of mean 1/rate, reproducible. `'wall'`: event time is
   * the wall clock when the event is made (live feeds).
   */
  readonly clock?: 'simulated' | 'wall';
  /** First event time for the simulated clock (UTC epoch ms). Default 2024-01-19T14:30:00Z. */
  readonly start?: number;
  /** Bounded disorder: with this probability an event's time is moved back by up to `maxDelay` ms. */
  readonly outOfOrder?: { readonly probability: number; readonly maxDelay: number };
  /** Late events: with this probability an event's time is moved back by `delay` ms (beyond out-of-orderness + grace). */
  readonly late?: { readonly probability: number; readonly delay: number };
  /**
   * Start prices by symbol (e.g. the last prices of a previous run, so a
   * restarted demo continues where it stopped). Symbols not listed start at
   * their seeded price; the seed still decides volatility and activity.
   */
  readonly startPrices?: Readonly<Record<string, number>>;
  /**
   * `'flat'` (default): trade sizes do not depend on the time of day.
   * `'intraday'`: sizes follow a U over the UTC day (4× the midday size at
   * the day's start and end, the same total), the shape of an exchange session.
   */
  readonly volumeShape?: 'flat' | 'intraday';
}

const DAY_MS = 86_400_000;

/**
 * The intraday volume factor at an instant: a U over the UTC day, 2 at
 * 00:00 and 24:00, 0.5 at noon, averaging 1 over the day.
 */
export function intradayVolumeFactor(ts: number): number {
  const x = (((ts % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS; // 0…1 through the UTC day
  const u = (2 * x - 1) ** 2; // 1 at the ends, 0 at noon; mean 1/3
  return 0.5 + 1.5 * u;
}

interface SymbolState {
  readonly name: string;
  /** The traded price: `fair` rounded to the tick. */
  price: number;
  /** The unrounded random walk (rounding each step to the tick would pin a low-volatility symbol to one price). */
  fair: number;
  readonly volatility: number;
  readonly tick: number;
  readonly weight: number;
}

/**
 * A seeded synthetic market: several symbols whose prices follow geometric
 * random walks (per-symbol start price, volatility and tick size; the walk
 * is kept unrounded and every symbol's volatility is high enough to move a
 * few ticks a minute at its share of the rate), trades of
 * mostly round-lot sizes with the aggressor side following the price move,
 * and top-of-book quotes around the price. Busier symbols trade more often.
 *
 * @example
 * ```ts
 * const market = new MarketSimulator({ seed: 7, symbols: ['AAPL', 'MSFT'] });
 * const trade = market.nextTrade(); // { symbol, ts, price, size, side, id, bid, ask }
 * ```
 */
export class MarketSimulator {
  private readonly rnd: SeededRandom;
  private readonly syms: SymbolState[];
  private readonly cumulative: Float64Array;
  private readonly meanGap: number;
  private readonly wall: boolean;
  private readonly outOfOrder: { probability: number; maxDelay: number } | undefined;
  private readonly late: { probability: number; delay: number } | undefined;
  private readonly intraday: boolean;
  private clock: number;
  private seq = 0;

  constructor(options: MarketSimulatorOptions = {}) {
    const parsed = MarketSimulatorOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TickflowError('INVALID_ARGUMENT', `invalid market simulator options: ${formatIssues(parsed.error)}`);
    }
    const o = parsed.data;
    this.rnd = new SeededRandom(o.seed ?? 1);
    const names = typeof o.symbols === 'object' ? o.symbols : Array.from({ length: o.symbols ?? 10 }, (_, i) => `SYM${String(i + 1).padStart(4, '0')}`);
    const rate = o.rate ?? 1000;
    const drawn = names.map((name) => {
      const seeded = Math.round(Math.exp(2 + this.rnd.next() * 5) * 100) / 100; // ~7 to ~1100
      // A given start price replaces the seeded one after the draw, so the rest of the sequence is unchanged.
      const price = o.startPrices?.[name] ?? seeded;
      return { name, price, volatility: 0.00002 + this.rnd.next() * 0.00008, weight: 1 / (1 + this.rnd.next() * 9) };
    });
    const totalWeight = drawn.reduce((a, d) => a + d.weight, 0);
    this.syms = drawn.map((d) => {
      const tick = d.price < 1 ? 0.0001 : 0.01;
      // Every symbol moves: per-event volatility at least what gives a typical move of ~5 ticks a minute at its share of the rate.
      const perMinute = Math.max(1, (rate * 60 * d.weight) / totalWeight);
      const floor = Math.min(0.002, (5 * tick) / (d.price * Math.sqrt(perMinute)));
      const price = Math.max(tick, Math.round(d.price / tick) * tick);
      return { name: d.name, price, fair: d.price, volatility: Math.max(d.volatility, floor), tick, weight: d.weight };
    });
    this.cumulative = new Float64Array(this.syms.length);
    let acc = 0;
    for (let i = 0; i < this.syms.length; i++) {
      acc += this.syms[i]!.weight;
      this.cumulative[i] = acc;
    }
    for (let i = 0; i < this.syms.length; i++) this.cumulative[i]! /= acc;
    this.meanGap = 1000 / (o.rate ?? 1000);
    this.wall = o.clock === 'wall';
    this.clock = o.start ?? Date.UTC(2024, 0, 19, 14, 30, 0);
    this.outOfOrder = o.outOfOrder;
    this.late = o.late;
    this.intraday = o.volumeShape === 'intraday';
  }

  /**
   * The current price of every symbol (the last trade's, or the start price
   * before any trade), e.g. to save and pass back as `startPrices`.
   */
  prices(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.syms) out[s.name] = Number(s.price.toFixed(s.tick < 0.01 ? 4 : 2));
    return out;
  }

  /** Symbols of this market. */
  get symbols(): string[] {
    return this.syms.map((s) => s.name);
  }

  private pick(): SymbolState {
    const u = this.rnd.next();
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return this.syms[lo]!;
  }

  private nextTime(): number {
    let ts: number;
    if (this.wall) {
      ts = Date.now();
    } else {
      this.clock += this.rnd.exponential(this.meanGap);
      ts = Math.floor(this.clock);
    }
    if (this.late !== undefined && this.rnd.next() < this.late.probability) return ts - this.late.delay;
    if (this.outOfOrder !== undefined && this.rnd.next() < this.outOfOrder.probability) {
      return ts - Math.floor(this.rnd.next() * (this.outOfOrder.maxDelay + 1));
    }
    return ts;
  }

  private round(price: number, tick: number): number {
    return Math.round(price / tick) * tick;
  }

  /** The next trade, with the prevailing bid/ask attached. */
  nextTrade(): Trade {
    const s = this.pick();
    const move = s.volatility * this.rnd.normal();
    const before = s.price;
    s.fair = Math.max(s.tick, s.fair * Math.exp(move));
    s.price = Math.max(s.tick, this.round(s.fair, s.tick));
    const decimals = s.tick < 0.01 ? 4 : 2;
    const price = Number(s.price.toFixed(decimals));
    const up = price > before || (price === before && this.rnd.next() < 0.5);
    const roundLot = this.rnd.next() < 0.8;
    const lots = roundLot ? 100 * Math.max(1, Math.round(this.rnd.exponential(3))) : this.rnd.int(1, 99);
    const spread = s.tick * this.rnd.int(1, 3);
    this.seq++;
    const ts = this.nextTime();
    // Intraday shape: round lots scaled and kept round, odd lots scaled (at least 1).
    const size = !this.intraday ? lots : roundLot ? 100 * Math.max(1, Math.round((lots / 100) * intradayVolumeFactor(ts))) : Math.max(1, Math.round(lots * intradayVolumeFactor(ts)));
    return {
      symbol: s.name,
      ts,
      price,
      size,
      side: up ? 'buy' : 'sell',
      id: String(this.seq),
      bid: Number((price - (up ? spread : 0)).toFixed(decimals)),
      ask: Number((price + (up ? 0 : spread)).toFixed(decimals)),
    };
  }

  /** The next top-of-book quote. */
  nextQuote(): Quote {
    const s = this.pick();
    s.fair = Math.max(s.tick, s.fair * Math.exp(s.volatility * this.rnd.normal()));
    s.price = Math.max(s.tick, this.round(s.fair, s.tick));
    const decimals = s.tick < 0.01 ? 4 : 2;
    const half = s.tick * this.rnd.int(1, 2);
    return {
      symbol: s.name,
      ts: this.nextTime(),
      bid: Number((s.price - half).toFixed(decimals)),
      ask: Number((s.price + half).toFixed(decimals)),
      bidSize: 100 * this.rnd.int(1, 50),
      askSize: 100 * this.rnd.int(1, 50),
    };
  }
}
