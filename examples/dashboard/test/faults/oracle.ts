// The fault tests' independent side: a seeded trade generator (own PRNG), an
// exact oracle of every window row (BigInt rationals of the binary64 inputs,
// rounded once), readers of every stored row of ClickHouse and PostgreSQL
// (every column, straight from the servers), and the comparisons.
//
// Nothing here uses tickflow's own aggregation code: the oracle is written
// from the documented semantics (see serverFaults.test.ts's header), so a
// bug shared by the pipeline and its helpers cannot hide here.
import postgres from 'postgres';

// ---------------------------------------------------------------- PRNG

/** sfc32 seeded through splitmix32: small, fast, and not the repo's SeededRandom. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

// ---------------------------------------------------------------- Kafka's default partitioner

/** Kafka's murmur2 (Java client, kafkajs DefaultPartitioner, librdkafka `murmur2_random` for non-empty keys). */
export function murmur2(key: string): number {
  const data = new TextEncoder().encode(key);
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

// ---------------------------------------------------------------- exact binary64 arithmetic

const view = new DataView(new ArrayBuffer(8));
const MANT = (1n << 52n) - 1n;
const HIDDEN = 1n << 52n;

/** A finite binary64 value as an exact integer multiple of 2^-1074. */
export function toUnits(x: number): bigint {
  if (!Number.isFinite(x)) throw new Error(`toUnits: ${x} is not finite`);
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = bits & MANT;
  const u = exp === 0 ? mant : (mant | HIDDEN) << BigInt(exp - 1);
  return bits >> 63n === 1n ? -u : u;
}

function bitLength(n: bigint): number {
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** The binary64 nearest to `u` × 2^-1074 (ties to even): one rounding of an exact value. */
export function roundUnits(u: bigint): number {
  if (u === 0n) return 0;
  const neg = u < 0n;
  const n = neg ? -u : u;
  const len = bitLength(n);
  let value: number;
  if (len <= 53) {
    value = Number(n) * Number.MIN_VALUE; // exact: n < 2^53
  } else {
    let shift = len - 53;
    let q = n >> BigInt(shift);
    const r = n - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (r > half || (r === half && (q & 1n) === 1n)) q++;
    if (q === 1n << 53n) {
      q >>= 1n;
      shift++;
    }
    const biased = shift + 1;
    if (biased >= 2047) return neg ? -Infinity : Infinity;
    view.setBigUint64(0, (BigInt(biased) << 52n) | (q - HIDDEN));
    value = view.getFloat64(0);
  }
  return neg ? -value : value;
}

function ordered(x: number): bigint {
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
}

/** Distance of two finite doubles in units in the last place (0 when equal). */
export function ulpDistance(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.POSITIVE_INFINITY;
  const d = ordered(a) - ordered(b);
  return Number(d < 0n ? -d : d);
}

/** Checks the exact arithmetic against IEEE addition and division (which are correctly rounded) on random inputs. */
export function selfCheckExactArithmetic(seed = 1): void {
  const rnd = new Sfc32(seed);
  for (let i = 0; i < 20_000; i++) {
    const a = (rnd.next() - 0.5) * 10 ** rnd.int(-30, 30);
    const b = (rnd.next() - 0.5) * 10 ** rnd.int(-30, 30);
    if (roundUnits(toUnits(a)) !== a) throw new Error(`exact arithmetic: round trip of ${a} failed`);
    if (roundUnits(toUnits(a) + toUnits(b)) !== a + b) throw new Error(`exact arithmetic: ${a} + ${b} rounded to ${roundUnits(toUnits(a) + toUnits(b))}, IEEE says ${a + b}`);
  }
  for (const x of [Number.MIN_VALUE, 2 ** -1022, 2 ** -1022 - Number.MIN_VALUE, Number.MAX_VALUE, 0.1, 1 / 3]) {
    if (roundUnits(toUnits(x)) !== x) throw new Error(`exact arithmetic: round trip of ${x} failed`);
  }
  if (ulpDistance(1, 1 + Number.EPSILON) !== 1 || ulpDistance(0.3, 0.1 + 0.2) !== 1) throw new Error('ulpDistance is wrong');
}

// ---------------------------------------------------------------- the trades

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

// ---------------------------------------------------------------- the oracle

export const TIMEFRAMES = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type Timeframe = keyof typeof TIMEFRAMES;
export const CANDLE_TFS: readonly Timeframe[] = ['1m', '5m', '15m', '1h', '1d'];
export const PROFILE_TFS: readonly Timeframe[] = ['1m', '5m'];
export const TICK_TFS: readonly Timeframe[] = ['1m'];
/** Volume-profile level step in cents (0.05, the server's default `profileStep`). */
export const PROFILE_STEP_CENTS = 5;
export const OUT_OF_ORDERNESS_MS = 1_000;
export const GRACE_MS = 5_000;

/** One expected row, with the store-independent field names. */
export interface ExpectedRow {
  readonly kind: 'candles' | 'profiles' | 'ticks';
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly start: number;
  readonly end: number;
  /** Whether the window must be final once every partition went quiet. */
  readonly closed: boolean;
  readonly fields: Record<string, number | readonly number[]>;
}

/** What the oracle expects, keyed `kind|symbol|timeframe|start`. */
export interface Expected {
  readonly rows: ReadonlyMap<string, ExpectedRow>;
  readonly maxTs: number;
  /** Sanity figures of the data set. */
  readonly stats: { readonly late: number; readonly lateGlobal: number; readonly corrections: number; readonly ties: number; readonly maxDisorderMs: number };
}

export function rowKey(kind: string, symbol: string, timeframe: string, start: number): string {
  return `${kind}|${symbol}|${timeframe}|${start}`;
}

interface Acc {
  n: number;
  open: number;
  openTs: number;
  openOff: number;
  close: number;
  closeTs: number;
  closeOff: number;
  high: number;
  low: number;
  vol: bigint;
  notional: bigint;
  buy: bigint;
  sell: bigint;
  buys: number;
  sells: number;
  levels: Map<number, { vol: bigint; buy: bigint; sell: bigint }>;
}

function levelPrice(idx: number): number {
  const c = idx * PROFILE_STEP_CENTS;
  return Number(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`);
}

/**
 * The exact expected rows: candles (1m…1d), volume profiles (1m, 5m), tick
 * counts (1m) of every (symbol, timeframe, start) holding a trade.
 *
 * - open/close: price of the earliest/latest ts, ties by Kafka offset;
 * - volume, buy/sell volume, notional: exact sums of the binary64 sizes and
 *   of the once-rounded products price*size, rounded once; vwap = notional /
 *   volume (one division; close when volume is 0);
 * - profile levels: index floor(cents / 5) of the trade's decimal price (the
 *   documented intent: a price on a level edge belongs to that level), level
 *   price = index × 0.05 as a decimal; level volumes exact sums rounded once;
 *   POC = most volume, ties the lowest price; value area grown from the POC
 *   toward the heavier neighbour (both on a tie) while it holds less than
 *   70 % of the volume (compared exactly), its volume the exact sum of its
 *   levels rounded once;
 * - closed = end ≤ max ts of all trades − out-of-orderness.
 */
export function oracle(set: TradeSet, placement: ReadonlyMap<string, Placement>): Expected {
  const accs = new Map<string, Acc>();
  let maxTs = Number.NEGATIVE_INFINITY;
  const maxInPartition = new Map<number, number>();
  let late = 0;
  let lateGlobal = 0;
  let corrections = 0;
  let ties = 0;
  let maxDisorderMs = 0;
  // Lateness is judged in each partition's offset order.
  const ordered = [...set.trades].sort((a, b) => {
    const pa = placement.get(a.id)!, pb = placement.get(b.id)!;
    return pa.partition - pb.partition || pa.offset - pb.offset;
  });
  for (const t of ordered) {
    const pl = placement.get(t.id);
    if (pl === undefined) throw new Error(`oracle: trade ${t.id} was not found on the topic`);
    const seen = maxInPartition.get(pl.partition) ?? Number.NEGATIVE_INFINITY;
    const end1m = (Math.floor(t.ts / 60_000) + 1) * 60_000;
    if (seen - OUT_OF_ORDERNESS_MS >= end1m + GRACE_MS) late++;
    if (seen - OUT_OF_ORDERNESS_MS >= end1m) corrections++;
    if (seen - t.ts > maxDisorderMs) maxDisorderMs = seen - t.ts;
    if (t.ts > seen) maxInPartition.set(pl.partition, t.ts);
  }
  let globalMax = Number.NEGATIVE_INFINITY;
  for (const t of set.trades) {
    const end1m = (Math.floor(t.ts / 60_000) + 1) * 60_000;
    if (globalMax - OUT_OF_ORDERNESS_MS >= end1m + GRACE_MS) lateGlobal++;
    if (t.ts > globalMax) globalMax = t.ts;
  }
  const add = (kind: string, tf: Timeframe, t: GenTrade, off: number, sizeU: bigint, notU: bigint, level: number): void => {
    const size = TIMEFRAMES[tf];
    const start = Math.floor(t.ts / size) * size;
    const key = rowKey(kind, t.symbol, tf, start);
    let a = accs.get(key);
    if (a === undefined) {
      a = { n: 0, open: t.price, openTs: t.ts, openOff: off, close: t.price, closeTs: t.ts, closeOff: off, high: t.price, low: t.price, vol: 0n, notional: 0n, buy: 0n, sell: 0n, buys: 0, sells: 0, levels: new Map() };
      accs.set(key, a);
    }
    a.n++;
    if (t.ts < a.openTs || (t.ts === a.openTs && off < a.openOff)) {
      a.open = t.price;
      a.openTs = t.ts;
      a.openOff = off;
    } else if (t.ts === a.openTs && off !== a.openOff) ties++;
    if (t.ts > a.closeTs || (t.ts === a.closeTs && off > a.closeOff)) {
      a.close = t.price;
      a.closeTs = t.ts;
      a.closeOff = off;
    }
    if (t.price > a.high) a.high = t.price;
    if (t.price < a.low) a.low = t.price;
    a.vol += sizeU;
    a.notional += notU;
    if (t.side === 'buy') {
      a.buy += sizeU;
      a.buys++;
    } else {
      a.sell += sizeU;
      a.sells++;
    }
    if (kind === 'profiles') {
      let l = a.levels.get(level);
      if (l === undefined) {
        l = { vol: 0n, buy: 0n, sell: 0n };
        a.levels.set(level, l);
      }
      l.vol += sizeU;
      if (t.side === 'buy') l.buy += sizeU;
      else l.sell += sizeU;
    }
  };
  for (const t of set.trades) {
    const off = placement.get(t.id)!.offset;
    if (t.ts > maxTs) maxTs = t.ts;
    const sizeU = toUnits(t.size);
    const notU = toUnits(t.price * t.size);
    const level = Math.floor(Math.round(t.price * 100) / PROFILE_STEP_CENTS);
    for (const tf of CANDLE_TFS) add('candles', tf, t, off, sizeU, notU, level);
    for (const tf of PROFILE_TFS) add('profiles', tf, t, off, sizeU, notU, level);
    for (const tf of TICK_TFS) add('ticks', tf, t, off, sizeU, notU, level);
  }
  const rows = new Map<string, ExpectedRow>();
  const closedBefore = maxTs - OUT_OF_ORDERNESS_MS;
  for (const [key, a] of accs) {
    const [kind, symbol, tf, startText] = key.split('|') as ['candles' | 'profiles' | 'ticks', string, Timeframe, string];
    const start = Number(startText);
    const end = start + TIMEFRAMES[tf];
    let fields: ExpectedRow['fields'];
    if (kind === 'candles') {
      const volume = roundUnits(a.vol);
      const notional = roundUnits(a.notional);
      fields = { open: a.open, high: a.high, low: a.low, close: a.close, volume, trades: a.n, vwap: volume > 0 ? notional / volume : a.close, buyVolume: roundUnits(a.buy), sellVolume: roundUnits(a.sell) };
    } else if (kind === 'ticks') {
      fields = { trades: a.n, buyTrades: a.buys, sellTrades: a.sells };
    } else {
      const idxs = [...a.levels.keys()].sort((x, y) => x - y);
      const lv = idxs.map((i) => a.levels.get(i)!);
      const vols = lv.map((l) => roundUnits(l.vol));
      const volume = roundUnits(a.vol);
      let poc = 0;
      for (let i = 1; i < vols.length; i++) if (vols[i]! > vols[poc]!) poc = i;
      // Grow while area < 0.7 × volume, exactly: 10 × area < 7 × volume.
      const volU = toUnits(volume);
      let lo = poc, hi = poc;
      let area = toUnits(vols[poc]!);
      while (area * 10n < volU * 7n && (lo > 0 || hi < vols.length - 1)) {
        const up = hi + 1 < vols.length ? vols[hi + 1]! : -1;
        const down = lo > 0 ? vols[lo - 1]! : -1;
        if (up > down) {
          hi++;
          area += toUnits(up);
        } else if (down > up) {
          lo--;
          area += toUnits(down);
        } else {
          hi++;
          lo--;
          area += toUnits(up) + toUnits(down);
        }
      }
      const prices = idxs.map(levelPrice);
      fields = {
        bucket: PROFILE_STEP_CENTS / 100,
        levelPrice: prices,
        levelVolume: vols,
        levelBuyVolume: lv.map((l) => roundUnits(l.buy)),
        levelSellVolume: lv.map((l) => roundUnits(l.sell)),
        volume,
        poc: prices[poc]!,
        valueAreaLow: prices[lo]!,
        valueAreaHigh: prices[hi]!,
        valueAreaVolume: roundUnits(area),
      };
    }
    rows.set(key, { kind, symbol, timeframe: tf, start, end, closed: end <= closedBefore, fields });
  }
  return { rows, maxTs, stats: { late, lateGlobal, corrections, ties, maxDisorderMs } };
}

/** Windows whose end falls where "final" would depend on the grace (closed by the watermark but not by watermark − grace): the generator avoids them. */
export function ambiguousWindowEnds(maxTs: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil((maxTs - OUT_OF_ORDERNESS_MS - GRACE_MS + 1) / 60_000) * 60_000; e <= maxTs - OUT_OF_ORDERNESS_MS; e += 60_000) out.push(e);
  return out;
}

// ---------------------------------------------------------------- stored rows

/** A stored row in the store-independent shape: every column of the table, renamed to common names where the stores differ. */
export type StoredRow = Record<string, unknown>;

/** Every row of every table of one store, by kind; keys `kind|symbol|timeframe|start` (trades: by id). */
export interface StoreSnapshot {
  readonly store: 'clickhouse' | 'postgres';
  readonly windows: Map<string, StoredRow>;
  /** Window rows seen more than once for one key (must be 0: the tables are keyed). */
  readonly duplicateKeys: number;
  /** Trades by id: every stored copy (FINAL for ClickHouse). */
  readonly trades: Map<string, StoredRow[]>;
  /** ClickHouse only: trade rows before FINAL collapsed replays (information). */
  readonly tradeRowsBeforeFinal: number | undefined;
  /** Columns read per table (to show that nothing was left out). */
  readonly columns: Record<string, readonly string[]>;
}

/** Columns the comparisons leave out: a write time, which no two runs share. */
export const NOT_COMPARED = new Set(['written_at']);

const camel = (s: string): string => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

async function chQuery<T>(url: string, sql: string): Promise<T[]> {
  const res = await fetch(`${url}/?output_format_json_quote_64bit_integers=1`, { method: 'POST', body: sql, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${url}: ${sql.slice(0, 120)}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Checks that ClickHouse's JSON output of Float64 round-trips exactly (the readers rely on it). */
export async function checkClickHouseFloats(url: string): Promise<void> {
  const values = [0.1 + 0.2, 1 / 3, 123456.789e-7, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, 101.25 * 0.003];
  const got = await chQuery<{ x: number }>(url, `SELECT x FROM (SELECT arrayJoin([${values.map((v) => `reinterpretAsFloat64(unhex('${floatHexLE(v)}'))`).join(',')}]) AS x) FORMAT JSONEachRow`);
  const xs = got.map((r) => Number(r.x));
  for (let i = 0; i < values.length; i++) if (xs[i] !== values[i]) throw new Error(`ClickHouse JSON does not round-trip Float64: sent ${values[i]}, read ${xs[i]}`);
}

function floatHexLE(v: number): string {
  view.setFloat64(0, v, true);
  let s = '';
  for (let i = 0; i < 8; i++) s += view.getUint8(i).toString(16).padStart(2, '0');
  return s;
}

function chValue(type: string, v: unknown): unknown {
  if (v === null) return type.startsWith('Nullable') ? null : Number.NaN;
  if (/^(U?Int64|UInt64)$/.test(type) || type.startsWith('DateTime64')) return Number(v);
  if (type === 'UInt8' && typeof v === 'number') return v;
  return v;
}

/**
 * Every row of the database's tickflow tables (aggregates with FINAL, so the
 * ReplacingMergeTree's answer; trades_raw with FINAL and also counted
 * without), every column, times as epoch ms.
 */
export async function readClickHouse(url: string, database: string): Promise<StoreSnapshot> {
  const cols = await chQuery<{ table: string; name: string; type: string }>(url, `SELECT table, name, type FROM system.columns WHERE database = '${database}' FORMAT JSONEachRow`);
  const byTable = new Map<string, { name: string; type: string }[]>();
  for (const c of cols) {
    if (!byTable.has(c.table)) byTable.set(c.table, []);
    byTable.get(c.table)!.push({ name: c.name, type: c.type });
  }
  const windows = new Map<string, StoredRow>();
  const trades = new Map<string, StoredRow[]>();
  const columns: Record<string, string[]> = {};
  let duplicateKeys = 0;
  let tradeRowsBeforeFinal: number | undefined;
  for (const [table, list] of byTable) {
    const m = /^(ohlc|volume_profile|tick_count)_(\w+)$/.exec(table);
    if (table !== 'trades_raw' && m === null) continue;
    columns[table] = list.map((c) => c.name);
    const exprs = list.map((c) => (c.type.startsWith('DateTime64') ? `toUnixTimestamp64Milli(\`${c.name}\`) AS \`${c.name}\`` : `\`${c.name}\``)).join(', ');
    const raw = await chQuery<Record<string, unknown>>(url, `SELECT ${exprs} FROM \`${database}\`.\`${table}\` FINAL FORMAT JSONEachRow`);
    const types = new Map(list.map((c) => [c.name, c.type]));
    for (const r of raw) {
      const row: StoredRow = {};
      for (const [k, v] of Object.entries(r)) row[camel(k)] = chValue(types.get(k)!, v);
      if (table === 'trades_raw') {
        const id = String(row.id);
        if (!trades.has(id)) trades.set(id, []);
        trades.get(id)!.push(row);
        continue;
      }
      const kind = m![1] === 'ohlc' ? 'candles' : m![1] === 'volume_profile' ? 'profiles' : 'ticks';
      row.timeframe = m![2];
      row.final = row.final === 1 || row.final === true;
      const key = rowKey(kind, String(row.symbol), m![2]!, Number(row.start));
      if (windows.has(key)) duplicateKeys++;
      windows.set(key, row);
    }
    if (table === 'trades_raw') tradeRowsBeforeFinal = Number((await chQuery<{ n: string }>(url, `SELECT count() AS n FROM \`${database}\`.trades_raw FORMAT JSONEachRow`))[0]?.n ?? 0);
  }
  return { store: 'clickhouse', windows, duplicateKeys, trades, tradeRowsBeforeFinal, columns };
}

/**
 * Every row of the PostgreSQL store's tables in `schema` (ohlc,
 * volume_profiles, tick_counts, trades), every column, times as epoch ms; the
 * profile `levels` JSON unfolded into the same parallel arrays ClickHouse has.
 */
export async function readPostgres(url: string, schema = 'public'): Promise<StoreSnapshot> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const cols = await sql<{ table_name: string; column_name: string; data_type: string }[]>`
      SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = ${schema} AND table_name IN ('ohlc', 'volume_profiles', 'tick_counts', 'trades') ORDER BY table_name, ordinal_position`;
    const byTable = new Map<string, { name: string; type: string }[]>();
    for (const c of cols) {
      if (!byTable.has(c.table_name)) byTable.set(c.table_name, []);
      byTable.get(c.table_name)!.push({ name: c.column_name, type: c.data_type });
    }
    const windows = new Map<string, StoredRow>();
    const trades = new Map<string, StoredRow[]>();
    const columns: Record<string, string[]> = {};
    let duplicateKeys = 0;
    for (const [table, list] of byTable) {
      columns[table] = list.map((c) => c.name);
      const exprs = list.map((c) => (c.type.startsWith('timestamp') && c.name !== 'written_at' ? `(extract(epoch from "${c.name}") * 1000)::float8 AS "${c.name}"` : `"${c.name}"`)).join(', ');
      const raw = await sql.unsafe<Record<string, unknown>[]>(`SELECT ${exprs} FROM "${schema}"."${table}"`);
      const types = new Map(list.map((c) => [c.name, c.type]));
      for (const r of raw) {
        const row: StoredRow = {};
        for (const [k, v] of Object.entries(r)) {
          const type = types.get(k)!;
          row[camel(k)] = type === 'bigint' || type === 'numeric' ? (v === null ? null : Number(v)) : v;
        }
        if (table === 'trades') {
          const id = String(row.tradeId);
          if (!trades.has(id)) trades.set(id, []);
          trades.get(id)!.push(row);
          continue;
        }
        if (table === 'volume_profiles') {
          const levels = row.levels as { price: number; volume: number; buyVolume: number; sellVolume: number }[];
          delete row.levels;
          row.levelPrice = levels.map((l) => l.price);
          row.levelVolume = levels.map((l) => l.volume);
          row.levelBuyVolume = levels.map((l) => l.buyVolume);
          row.levelSellVolume = levels.map((l) => l.sellVolume);
          const odd = levels.filter((l) => Object.keys(l).sort().join() !== 'buyVolume,price,sellVolume,volume').length;
          if (odd > 0) row.levelsWithOtherKeys = odd;
        }
        const kind = table === 'ohlc' ? 'candles' : table === 'volume_profiles' ? 'profiles' : 'ticks';
        const key = rowKey(kind, String(row.symbol), String(row.timeframe), Number(row.start));
        if (windows.has(key)) duplicateKeys++;
        windows.set(key, row);
      }
    }
    return { store: 'postgres', windows, duplicateKeys, trades, tradeRowsBeforeFinal: undefined, columns };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// ---------------------------------------------------------------- comparisons

/** Result of comparing one set of rows with another. */
export interface Comparison {
  readonly label: string;
  readonly expected: number;
  readonly stored: number;
  readonly missing: number;
  readonly extra: number;
  /** Rows with at least one differing field. */
  readonly differing: number;
  /** Differing rows per field. */
  readonly fields: Record<string, number>;
  /** Float fields that differed: rows, largest distance in ulps, rows within 1 ulp. */
  readonly ulps: Record<string, { rows: number; max: number; within1: number }>;
  /** Differences within TOLERANCE (not counted as differing): rows and largest ulps. */
  readonly tolerated: Record<string, { rows: number; max: number }>;
  readonly examples: string[];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/** Fields that are binary64 sums (or a quotient of sums): their differences are also measured in ulps. */
export const FLOAT_SUM_FIELDS = new Set(['volume', 'vwap', 'buyVolume', 'sellVolume', 'levelVolume', 'levelBuyVolume', 'levelSellVolume', 'valueAreaVolume']);

/**
 * Fields compared with a relative tolerance instead of exactly: the value
 * area's volume is a sum of level volumes that tickflow does not promise to
 * round correctly (only volume, buy/sell volume and the notional are); its
 * ulp differences are still reported (`tolerated`).
 */
export const TOLERANCE: Readonly<Record<string, number>> = { valueAreaVolume: 1e-12 };

function ulpsOf(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return ulpDistance(a, b);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const d = ulpsOf(a[i], b[i]);
      if (d === undefined) return undefined;
      if (d > m) m = d;
    }
    return m;
  }
  return undefined;
}

class Tally {
  missing = 0;
  extra = 0;
  differing = 0;
  expected = 0;
  stored = 0;
  fields: Record<string, number> = {};
  ulps: Record<string, { rows: number; max: number; within1: number }> = {};
  examples: string[] = [];

  tolerated: Record<string, { rows: number; max: number }> = {};

  /** `tolerant`: apply TOLERANCE (oracle comparisons); runs against each other compare every field exactly. */
  constructor(private readonly tolerant: boolean) {}

  /** Records a difference; false when it is within the field's tolerance (counted apart). */
  field(name: string, key: string, want: unknown, got: unknown): boolean {
    const tol = this.tolerant ? TOLERANCE[name] : undefined;
    if (tol !== undefined && typeof want === 'number' && typeof got === 'number' && Math.abs(want - got) <= tol * Math.abs(want)) {
      const u = (this.tolerated[name] ??= { rows: 0, max: 0 });
      u.rows++;
      u.max = Math.max(u.max, ulpDistance(want, got));
      return false;
    }
    this.fields[name] = (this.fields[name] ?? 0) + 1;
    const d = FLOAT_SUM_FIELDS.has(name) ? ulpsOf(want, got) : undefined;
    if (d !== undefined) {
      const u = (this.ulps[name] ??= { rows: 0, max: 0, within1: 0 });
      u.rows++;
      if (d > u.max) u.max = d;
      if (d <= 1) u.within1++;
    }
    if (this.examples.length < 8) this.examples.push(`${key} ${name}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}${d !== undefined ? ` (${d} ulp)` : ''}`);
    return true;
  }

  done(label: string): Comparison {
    return { label, expected: this.expected, stored: this.stored, missing: this.missing, extra: this.extra, differing: this.differing, fields: this.fields, ulps: this.ulps, tolerated: this.tolerated, examples: this.examples };
  }
}

/**
 * A store's window rows against the oracle: every data field (exact; float
 * differences also measured in ulps), `end`, and `final` = true for the
 * windows the watermark closed. `rev` must be a positive integer; its value
 * is compared between runs, not here. Open windows' `final` is reported by
 * the run comparison (it must match the uninterrupted run's).
 */
export function compareWithOracle(label: string, kind: ExpectedRow['kind'], stored: StoreSnapshot, expected: Expected): Comparison {
  const t = new Tally(true);
  for (const [key, want] of expected.rows) {
    if (want.kind !== kind) continue;
    t.expected++;
    const got = stored.windows.get(key);
    if (got === undefined) {
      t.missing++;
      if (t.examples.length < 8) t.examples.push(`${key}: missing`);
      continue;
    }
    let bad = false;
    const check = (name: string, w: unknown, g: unknown): void => {
      if (!sameValue(w, g) && t.field(name, key, w, g)) bad = true;
    };
    check('end', want.end, got.end);
    for (const [f, w] of Object.entries(want.fields)) check(f, w, got[f]);
    if (want.closed) check('final', true, got.final);
    if (!(typeof got.rev === 'number' && Number.isInteger(got.rev) && got.rev > 0)) check('rev>0', 'a positive integer', got.rev);
    if (bad) t.differing++;
  }
  for (const key of stored.windows.keys()) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.stored++;
    if (!expected.rows.has(key)) {
      t.extra++;
      if (t.examples.length < 8) t.examples.push(`${key}: not expected (no trade in that window)`);
    }
  }
  return t.done(label);
}

/** Two runs' window rows of one kind: every column (NOT_COMPARED aside), `rev` and `final` included. */
export function compareRuns(label: string, kind: ExpectedRow['kind'], ref: StoreSnapshot, run: StoreSnapshot): Comparison {
  const t = new Tally(false);
  for (const [key, want] of ref.windows) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.expected++;
    const got = run.windows.get(key);
    if (got === undefined) {
      t.missing++;
      if (t.examples.length < 8) t.examples.push(`${key}: missing`);
      continue;
    }
    let bad = false;
    for (const f of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (NOT_COMPARED.has(f) || f === 'writtenAt') continue;
      if (!sameValue(want[f], got[f]) && t.field(f, key, want[f], got[f])) bad = true;
    }
    if (bad) t.differing++;
  }
  for (const key of run.windows.keys()) {
    if (!key.startsWith(`${kind}|`)) continue;
    t.stored++;
    if (!ref.windows.has(key)) {
      t.extra++;
      if (t.examples.length < 8) t.examples.push(`${key}: only in this run`);
    }
  }
  return t.done(label);
}

/** Raw trades of a store against the generated ones: each exactly once, every field equal. */
export interface TradeCheck {
  readonly label: string;
  readonly expected: number;
  readonly missing: number;
  readonly doubled: number;
  readonly differing: number;
  readonly unknown: number;
  readonly examples: string[];
}

export function checkTrades(label: string, snap: StoreSnapshot, set: TradeSet): TradeCheck {
  let missing = 0, doubled = 0, differing = 0;
  const examples: string[] = [];
  const ids = new Set<string>();
  for (const t of set.trades) {
    ids.add(t.id);
    const rows = snap.trades.get(t.id) ?? [];
    if (rows.length === 0) {
      missing++;
      if (examples.length < 6) examples.push(`${t.id} (${t.symbol} ${new Date(t.ts).toISOString()}): missing`);
      continue;
    }
    if (rows.length > 1) {
      doubled++;
      if (examples.length < 6) examples.push(`${t.id}: ${rows.length} rows`);
    }
    const r = rows[0]!;
    const want: Record<string, unknown> =
      snap.store === 'clickhouse'
        ? { symbol: t.symbol, ts: t.ts, key: t.id, id: t.id, price: t.price, size: t.size, side: t.side, bid: null, ask: null }
        : { time: t.ts, symbol: t.symbol, tradeKey: t.id, price: t.price, size: t.size, side: t.side, tradeId: t.id, bid: null, ask: null };
    const diff = Object.keys({ ...want, ...r }).filter((k) => !sameValue(want[k], r[k]));
    if (diff.length > 0) {
      differing++;
      if (examples.length < 6) examples.push(`${t.id}: ${diff.map((k) => `${k} want ${JSON.stringify(want[k])} got ${JSON.stringify(r[k])}`).join(', ')}`);
    }
  }
  let unknown = 0;
  for (const id of snap.trades.keys()) if (!ids.has(id)) unknown++;
  return { label, expected: set.trades.length, missing, doubled, differing, unknown, examples };
}

/** One line per comparison, for the log. */
export function describeComparison(c: Comparison): string {
  const ulps = Object.entries(c.ulps).map(([f, u]) => `${f}: ${u.rows} rows ≤${u.max} ulp (${u.within1} within 1)`);
  const fields = Object.entries(c.fields).map(([f, n]) => `${f}×${n}`);
  const tolerated = Object.entries(c.tolerated).map(([f, u]) => `${f}: ${u.rows} rows ≤${u.max} ulp within tolerance`);
  return `${c.label}: ${c.expected} expected, ${c.stored} stored, ${c.missing} missing, ${c.extra} extra, ${c.differing} differing${fields.length > 0 ? ` [${fields.join(' ')}]` : ''}${ulps.length > 0 ? ` {${ulps.join('; ')}}` : ''}${tolerated.length > 0 ? ` (${tolerated.join('; ')})` : ''}${c.examples.length > 0 ? `\n      e.g. ${c.examples.slice(0, 4).join('\n           ')}` : ''}`;
}
