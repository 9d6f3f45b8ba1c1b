import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import type { ChainableCommander, Redis } from 'ioredis';
import { TradeKeyer } from '../tradeKey.js';
import { replicaCount, where } from './redisConnection.js';
import { redisKey } from './redisKeys.js';
import type { RedisKeyKind } from './redisKeys.js';
import type { ResolvedRedisOptions } from './redisStoreOptions.js';
import type { RedisUpdate } from './redisUpdate.js';

type ScriptArg = string | number;

/** The Lua commands defined on the client (ioredis adds them at run time). */
interface ScriptCommands {
  tickflowLatestPrice(args: ScriptArg[]): unknown;
  tickflowPriceHistory(args: ScriptArg[]): unknown;
  tickflowLatestWindow(args: ScriptArg[]): unknown;
  tickflowQuoteCount(args: ScriptArg[]): unknown;
}

/**
 * The writes of a Redis store: each batch one pipelined round trip of Lua
 * scripts (idempotent), plus the replica acknowledgements asked for. Rows
 * are validated before they get here.
 * @internal
 */
export class RedisWriter {
  private readonly keyer = new TradeKeyer();
  /** Replicas connected to the master at the last write; -1 after a (re)connect until asked again. */
  private replicas = -1;
  private readonly where: string;

  constructor(
    private readonly client: Redis,
    private readonly o: ResolvedRedisOptions,
    private readonly isClosed: () => boolean,
  ) {
    this.where = where(o);
  }

  /** After a (re)connect: possibly another master now (sentinel failover), so ask ROLE again. */
  forgetReplicas(): void {
    this.replicas = -1;
  }

  private keyOf(kind: RedisKeyKind, symbol: string, timeframe?: string): string {
    return redisKey(this.o.keyPrefix, kind, symbol, timeframe);
  }

  /** The stable key of a trade; kept per row object so a retried batch gets the same keys. */
  private tradeKey(t: Trade): string {
    return this.keyer.keyOnce(t);
  }

  /**
   * Latest price per symbol (Lua: never replaced by an older trade), bounded
   * history, one update message. The history goes to Redis as one string of
   * members per symbol (PRICE_HISTORY_LUA): two arguments per trade cost more
   * in ioredis's command encoding than everything else of the write.
   */
  async putTrades(rows: readonly Trade[]): Promise<void> {
    if (rows.length === 0) return;
    const latest = new Map<string, Trade>();
    const history = new Map<string, string[]>();
    /** Members with a newline (in a trade id) cannot go in a newline-separated list: plain ZADD, score and member. */
    let odd: Map<string, ScriptArg[]> | undefined;
    for (let i = 0; i < rows.length; i++) {
      const t = rows[i]!;
      const best = latest.get(t.symbol);
      if (best === undefined || t.ts >= best.ts) latest.set(t.symbol, t);
      const hasId = t.id !== undefined && t.id !== '';
      // Member: ts|price|size|side|(i=id, k=derived key)key; the key is last so it may contain '|'.
      const member = `${t.ts}|${t.price}|${t.size}|${t.side ?? ''}|${hasId ? 'i' : 'k'}${this.tradeKey(t)}`;
      if (hasId && t.id!.includes('\n')) {
        odd ??= new Map();
        let o = odd.get(t.symbol);
        if (o === undefined) odd.set(t.symbol, (o = []));
        o.push(t.ts, member);
        if (!history.has(t.symbol)) history.set(t.symbol, []);
        continue;
      }
      const h = history.get(t.symbol);
      if (h === undefined) history.set(t.symbol, [member]);
      else h.push(member);
    }
    const p = this.client.pipeline();
    const args: ScriptArg[] = [latest.size];
    for (const s of latest.keys()) args.push(this.keyOf('price', s));
    args.push(this.o.priceTtlMs);
    for (const t of latest.values()) args.push(t.ts, t.price, t.size, t.side ?? '', t.id ?? '');
    (p as unknown as ScriptCommands).tickflowLatestPrice(args);
    // Before the script, which trims: a member with a newline competes for the last places like any other.
    if (odd !== undefined) for (const [s, o] of odd) p.call('ZADD', this.keyOf('priceHistory', s), ...o);
    const hist: ScriptArg[] = [history.size];
    for (const s of history.keys()) hist.push(this.keyOf('priceHistory', s));
    hist.push(-(this.o.historyLength + 1));
    for (const h of history.values()) hist.push(h.join('\n'));
    (p as unknown as ScriptCommands).tickflowPriceHistory(hist);
    if (this.o.publish) p.publish(this.o.channel, JSON.stringify({ type: 'trades', items: rows }));
    await this.exec(p, `writing ${rows.length} trades`);
  }

  /** Latest quote and idempotent quote count per symbol (Lua), one update message. */
  async putQuotes(rows: readonly Quote[]): Promise<void> {
    if (rows.length === 0) return;
    const bySymbol = new Map<string, Quote[]>();
    for (let i = 0; i < rows.length; i++) {
      const q = rows[i]!;
      const list = bySymbol.get(q.symbol);
      if (list === undefined) bySymbol.set(q.symbol, [q]);
      else list.push(q);
    }
    const args: ScriptArg[] = [bySymbol.size];
    for (const s of bySymbol.keys()) args.push(this.keyOf('quotes', s));
    for (const list of bySymbol.values()) {
      args.push(list.length);
      for (const q of list) args.push(q.ts, q.bid, q.ask, q.bidSize ?? '', q.askSize ?? '');
    }
    const p = this.client.pipeline();
    (p as unknown as ScriptCommands).tickflowQuoteCount(args);
    if (this.o.publish) p.publish(this.o.channel, JSON.stringify({ type: 'quotes', items: rows }));
    await this.exec(p, `writing ${rows.length} quotes`);
  }

  /** The latest window per key (Lua: replaced only by a newer window or a rev at least as high), published from the script. */
  async putWindows(rows: readonly (Candle | TickCount | VolumeProfile)[], kind: 'candle' | 'tickCount' | 'volumeProfile', type: RedisUpdate['type']): Promise<void> {
    if (rows.length === 0) return;
    const args: ScriptArg[] = [rows.length];
    for (let i = 0; i < rows.length; i++) args.push(this.keyOf(kind, rows[i]!.symbol, rows[i]!.timeframe));
    args.push(this.o.aggregateTtlMs, this.o.publish ? this.o.channel : '', type);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      args.push(r.start, r.rev, JSON.stringify(r));
    }
    const p = this.client.pipeline();
    (p as unknown as ScriptCommands).tickflowLatestWindow(args);
    await this.exec(p, `writing ${rows.length} ${type}`);
  }

  /**
   * Runs a pipeline in one round trip; throws SINK_FAILED with the first
   * error. With `replicaAcks`, the pipeline ends with ROLE (how many replicas
   * are connected, remembered for the next batch) and `WAIT` for as many of
   * them as are wanted and were connected: WAIT for a replica that is not
   * there would block for the whole timeout (after a failover the new master
   * has none until the old one returns).
   */
  private async exec(p: ChainableCommander, what: string): Promise<void> {
    if (this.isClosed()) throw new TickflowError('SINK_CLOSED', `redis: ${what}: the store is closed`);
    const acks = this.o.replicaAcks;
    let wanted = 0;
    if (acks > 0) {
      if (this.replicas < 0) {
        try {
          this.replicas = replicaCount(await this.client.role());
        } catch (e) {
          throw this.failure(what, e);
        }
      }
      wanted = Math.min(acks, this.replicas);
      p.role();
      if (wanted > 0) p.wait(wanted, this.o.replicaAckTimeoutMs);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await p.exec();
    } catch (e) {
      throw this.failure(what, e);
    }
    if (results === null) throw this.failure(what, new Error('the pipeline was not executed'));
    for (const [err] of results) if (err !== null) throw this.failure(what, err);
    if (acks > 0) {
      const roleAt = results.length - (wanted > 0 ? 2 : 1);
      this.replicas = replicaCount(results[roleAt]![1]);
      if (wanted > 0) {
        const got = results[results.length - 1]![1] as number;
        if (got < wanted) {
          throw new TickflowError('SINK_FAILED', `redis: ${what}: only ${got} of ${wanted} replica(s) acknowledged the batch within ${this.o.replicaAckTimeoutMs} ms (${this.replicas} connected now); it is retried (writes are idempotent). Check the replicas' replication lag, or lower replicaAcks`);
        }
      }
    }
  }


  private failure(what: string, e: unknown): TickflowError {
    return new TickflowError('SINK_FAILED', `redis: ${what} failed (${this.where}): ${describeError(e)}`, { cause: e });
  }
}
