// The fault tests' trades: a seeded generator (own PRNG, Kafka's partitioner)
// of what goes on the topic, where Kafka put each trade, and the bursts they
// are produced in.
import { partitionOf } from './kafkaPartitioner.js';
import { Sfc32 } from './sfc32.js';

/** A generated trade (what goes on the topic, as JSON). */
export interface GenTrade {
  readonly symbol: string;
  readonly ts: number;
  readonly price: number;
  readonly size: number;
  readonly side: 'buy' | 'sell';
  readonly id: string;
}

/** Settings of the generator. */
export interface GeneratorOptions {
  readonly seed: number;
  readonly count: number;
  readonly partitions: number;
  /** Symbols per partition (every partition gets the same number, by Kafka's murmur2 on the key). */
  readonly symbolsPerPartition: number;
  /** Event time of the first nominal slot (UTC epoch ms). */
  readonly from: number;
  /** Event time after the last nominal slot. */
  readonly to: number;
}

/** The generated data set. */
export interface TradeSet {
  readonly trades: readonly GenTrade[];
  readonly symbols: readonly string[];
  /** Expected partition of each symbol. */
  readonly partitionOfSymbol: ReadonlyMap<string, number>;
  readonly partitions: number;
}

/**
 * Seeded trades in production order. Event time advances in even nominal
 * slots from `from` to `to`; each trade is up to 5 s earlier than its slot
 * (≈ 85 % within 0.8 s, ≈ 13 % 0.8–3 s, ≈ 2 % 3–5 s), so within a partition
 * and across all of them no trade is more than 6 s behind the newest one
 * before it: nothing is late for out-of-orderness 1 s + grace 5 s, while
 * trades 1–5 s behind correct 1m windows that had already fired (30 % of
 * the trades in the first 4 s of a minute go back across its start). About 3 %
 * repeat the previous ts of their symbol (open/close ties, decided by the
 * Kafka offset). Prices are whole cents (random walk per symbol); sizes mix
 * whole lots and 3-decimal fractions, a few 0, so the sums are inexact in
 * binary64.
 */
export function generateTrades(o: GeneratorOptions): TradeSet {
  const rnd = new Sfc32(o.seed);
  const symbols: string[] = [];
  const perPartition = new Array<number>(o.partitions).fill(0);
  const partitionOfSymbol = new Map<string, number>();
  for (let i = 1; symbols.length < o.partitions * o.symbolsPerPartition; i++) {
    const name = `F${String(i).padStart(3, '0')}`;
    const p = partitionOf(name, o.partitions);
    if (perPartition[p]! >= o.symbolsPerPartition) continue;
    perPartition[p]!++;
    symbols.push(name);
    partitionOfSymbol.set(name, p);
    if (i > 100_000) throw new Error('generateTrades: could not fill every partition');
  }
  const cents = symbols.map(() => rnd.int(2_000, 50_000));
  const lastTs = new Map<string, number>();
  const slot = (o.to - o.from) / o.count;
  const trades: GenTrade[] = [];
  for (let i = 0; i < o.count; i++) {
    const s = rnd.int(0, symbols.length - 1);
    const symbol = symbols[s]!;
    const nominal = Math.floor(o.from + i * slot);
    const u = rnd.next();
    const delay = u < 0.85 ? rnd.int(0, 800) : u < 0.98 ? rnd.int(801, 3_000) : rnd.int(3_001, 5_000);
    let ts = nominal - delay;
    // Just after a minute boundary, 30 % go 1 ms–5 s back across it: corrections of 1m windows that fired.
    const boundary = Math.floor(nominal / 60_000) * 60_000;
    if (nominal - boundary < 4_000 && rnd.next() < 0.3) ts = boundary - rnd.int(1, 4_999 - (nominal - boundary));
    const prev = lastTs.get(symbol);
    if (prev !== undefined && prev >= nominal - 5_000 && rnd.next() < 0.03) ts = prev;
    lastTs.set(symbol, ts);
    cents[s] = Math.max(100, cents[s]! + rnd.int(-6, 6));
    const price = cents[s]! / 100;
    const k = rnd.next();
    const size = k < 0.002 ? 0 : k < 0.5 ? rnd.int(1, 500) : rnd.int(1, 20_000) / 1000;
    trades.push({ symbol, ts, price, size, side: rnd.next() < 0.5 ? 'buy' : 'sell', id: `t${String(i).padStart(7, '0')}` });
  }
  return { trades, symbols, partitionOfSymbol, partitions: o.partitions };
}

/** Where Kafka put a trade. */
export interface Placement {
  readonly partition: number;
  readonly offset: number;
}

/** Splits trades (in production order) into `n` consecutive bursts. */
export function bursts(set: TradeSet, n: number): GenTrade[][] {
  const out: GenTrade[][] = [];
  const per = Math.ceil(set.trades.length / n);
  for (let i = 0; i < set.trades.length; i += per) out.push(set.trades.slice(i, i + per));
  return out;
}
