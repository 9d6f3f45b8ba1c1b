import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { Redis } from 'ioredis';
import type { ChainableCommander, RedisOptions as IORedisOptions } from 'ioredis';
import { BatchingSink } from '../batchingSink.js';
import type { SinkOptions, SinkTarget } from '../batchingSink.js';
import { TradeKeyer } from '../tradeKey.js';
import { validatorOf } from './internal/rowKinds.js';
import type { RedisRows, RedisSinkKind } from './internal/rowKinds.js';
import { LATEST_PRICE_LUA, LATEST_WINDOW_LUA, QUOTE_COUNT_LUA } from './internal/luaScripts.js';
import { resolveRedisOptions } from './redisStoreOptions.js';
import type { RedisStoreOptions, ResolvedRedisOptions } from './redisStoreOptions.js';
import { parseRedisUpdate } from './redisUpdate.js';
import type { RedisUpdate } from './redisUpdate.js';

/** The latest quote of a symbol and how many distinct quotes were counted for it. */
export interface RedisQuoteState {
  readonly quote: Quote;
  readonly count: number;
}

/** What the store found when it connected (also logged). */
export interface RedisServerInfo {
  readonly mode: 'single' | 'sentinel';
  /** `host:port` of the node written to. */
  readonly address: string;
  /** Redis server version, e.g. `7.0.15`. */
  readonly version: string;
  /** Replicas connected to the master at connect time. */
  readonly replicas: number;
  /** Replica acknowledgements each batch waits for (capped at the connected replicas). */
  readonly replicaAcks: number;
}

type ScriptArg = string | number;

/** The Lua commands defined on the client (ioredis adds them at run time). */
interface ScriptCommands {
  tickflowLatestPrice(args: ScriptArg[]): unknown;
  tickflowLatestWindow(args: ScriptArg[]): unknown;
  tickflowQuoteCount(args: ScriptArg[]): unknown;
}

function num(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

function backoff(times: number, maxMs: number): number {
  return Math.min(25 * 2 ** Math.min(times, 10), maxMs);
}

/**
 * Redis as the dashboard's hot store (design §6), over ioredis, on a single
 * node (`url`) or through Sentinel (`sentinels` + `name`). Keys (after
 * `keyPrefix`):
 *
 * - `price:{symbol}`: hash of the latest trade by event time (`price`, `ts`,
 *   `size`, `side`, `id`), expiring after `priceTtl` (5 s). A replayed older
 *   trade never replaces a newer one.
 * - `price_history:{symbol}`: sorted set of the last `historyLength` trades,
 *   scored by event time, one member per trade key (`TradeKeyer`), so writing
 *   a trade twice stores it once (the design's LPUSH + LTRIM would store
 *   replays twice and trim genuine trades away).
 * - `ohlc:{symbol}:{tf}`, `ticks:{symbol}:{tf}`, `profile:{symbol}:{tf}`: the
 *   latest window as JSON, expiring after `aggregateTtl` (60 s); replaced only
 *   by a newer window or the same window with a rev at least as high (Lua).
 * - `quotes:{symbol}`: hash with the latest quote (`ts`, `bid`, `ask`,
 *   `bidSize`, `askSize`) and `count`, the number of distinct quotes; a quote
 *   is counted when it advances the symbol's quote time (or is new at that
 *   ms), so a replay is not counted twice (the design's INCR would).
 *
 * Each batch is one pipelined round trip; updates are published on `channel`
 * (see RedisUpdate). In sentinel mode each batch also waits (`WAIT`) until a
 * replica has it, so a failover loses no acknowledged write. Connection
 * failures surface at once (no offline queue in the driver): the sink's
 * retry, breaker and backpressure handle them.
 *
 * @example
 * ```ts
 * const store = await RedisStore.connect({ url: 'redis://127.0.0.1:6379' });
 * await pipeline(syntheticTrades({ count: 10_000 })).to(store.sink('trades')).run();
 * console.log(await store.getPrice('SYM0001'));
 * await store.close();
 * ```
 */
export class RedisStore {
  private readonly keyer = new TradeKeyer();
  private readonly subscribers = new Set<Redis>();
  private serverInfo: RedisServerInfo | undefined;
  private closed = false;
  private down = false;
  /** Replicas connected to the master at the last write; -1 after a (re)connect until asked again. */
  private replicas = -1;

  private constructor(
    private readonly client: Redis,
    private readonly o: ResolvedRedisOptions,
  ) {
    client.defineCommand('tickflowLatestPrice', { lua: LATEST_PRICE_LUA });
    client.defineCommand('tickflowLatestWindow', { lua: LATEST_WINDOW_LUA });
    client.defineCommand('tickflowQuoteCount', { lua: QUOTE_COUNT_LUA });
    // ioredis reports connection problems as events; the sink sees them as failed writes.
    client.on('error', (e: Error) => {
      if (this.down || this.closed || this.serverInfo === undefined) return;
      this.down = true;
      this.o.log(`redis: lost the connection to ${this.where()} (${e.message}); writes fail and are retried by the sinks until it is back`);
    });
    // ioredis gives up on some paths (a sentinel lookup interrupted, a failed
    // first connect): the store keeps trying for as long as it is open.
    client.on('end', () => {
      if (this.closed || this.serverInfo === undefined) return;
      setTimeout(() => {
        if (!this.closed && client.status === 'end') client.connect().catch(() => {});
      }, this.o.maxReconnectDelayMs).unref();
    });
    client.on('ready', () => {
      this.replicas = -1; // possibly another master now (sentinel failover)
      if (this.down) {
        this.down = false;
        this.o.log(`redis: reconnected to ${this.where()}`);
      }
    });
  }

  /**
   * Connects (to the node, or to the master the sentinels name), checks the
   * server and logs what it found and chose. Throws `INVALID_ARGUMENT` for bad
   * options and `SINK_FAILED` when Redis cannot be reached.
   *
   * @example
   * ```ts
   * const store = await RedisStore.connect({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' });
   * ```
   */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const o = resolveRedisOptions(options);
    const client = new Redis(RedisStore.driverOptions(o));
    const store = new RedisStore(client, o);
    try {
      await client.connect();
      store.serverInfo = await store.inspect();
    } catch (e) {
      client.disconnect();
      throw new TickflowError('SINK_FAILED', `could not connect to Redis (${store.where()}): ${describeError(e)}. Start Redis there or fix the ${o.mode === 'single' ? 'url' : 'sentinels / name'} option`, { cause: e });
    }
    const i = store.serverInfo;
    o.log(
      `redis: ${i.mode === 'single' ? 'single node' : `sentinel master "${o.name}"`} at ${i.address} (Redis ${i.version}, ${i.replicas} replica(s)); ` +
        `writes wait for ${i.replicaAcks} replica ack(s); keys prefixed "${o.keyPrefix}"; ${o.publish ? `updates published on "${o.channel}"` : 'no publishing'}`,
    );
    return store;
  }

  private static driverOptions(o: ResolvedRedisOptions): IORedisOptions {
    const common: IORedisOptions = {
      lazyConnect: true,
      // Fail commands at once while disconnected instead of queueing them
      // without bound in the driver: the sink retries, and its bounded buffer
      // pauses the pipeline.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: o.commandTimeoutMs,
      connectTimeout: o.connectTimeoutMs,
      retryStrategy: (times: number) => backoff(times, o.maxReconnectDelayMs),
      // A write that reaches a replica (a failover in progress) reconnects to the current master.
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
      connectionName: 'tickflow',
    };
    if (o.mode === 'single') {
      const u = new URL(o.url!);
      return {
        ...common,
        host: u.hostname,
        port: u.port === '' ? 6379 : Number(u.port),
        username: u.username === '' ? undefined : decodeURIComponent(u.username),
        password: u.password === '' ? undefined : decodeURIComponent(u.password),
        db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
        tls: u.protocol === 'rediss:' ? {} : undefined,
      };
    }
    return {
      ...common,
      sentinels: o.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: o.name,
      role: 'master',
      password: o.password,
      sentinelPassword: o.sentinelPassword,
      db: o.db,
      // Not ioredis's failoverDetector: a +switch-master message that arrives
      // while the client is reconnecting ends the client for good (ioredis
      // 5.x). Reconnecting asks the sentinels for the master anyway, and a
      // demoted master answers writes with READONLY, which reconnects.
      failoverDetector: false,
      sentinelRetryStrategy: (times: number) => backoff(times, o.maxReconnectDelayMs),
    };
  }

  private where(): string {
    if (this.o.mode === 'single') {
      const u = new URL(this.o.url!);
      return `redis://${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
    }
    return `master "${this.o.name}" via sentinels ${this.o.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  }

  private async inspect(): Promise<RedisServerInfo> {
    const info = await this.client.info('server');
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    const major = Number(version.split('.')[0]);
    if (major < 5) throw new Error(`Redis ${version} is too old: the store needs Redis 5 or newer`);
    const role = await this.client.role();
    if (role[0] !== 'master') throw new Error(`the server is a ${String(role[0])}, not a master: point the store at the master (or use sentinels)`);
    const replicas = RedisStore.replicaCount(role);
    const stream = this.client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    return {
      mode: this.o.mode,
      address: stream?.remoteAddress !== undefined ? `${stream.remoteAddress}:${stream.remotePort ?? ''}` : this.where(),
      version,
      replicas,
      replicaAcks: Math.min(this.o.replicaAcks, replicas),
    };
  }

  /** What the store found when it connected. */
  get info(): RedisServerInfo {
    return this.serverInfo!;
  }

  /** The key for `kind` and symbol (and timeframe), with the prefix: for tools that read Redis directly. */
  key(kind: 'price' | 'priceHistory' | 'quotes', symbol: string): string;
  key(kind: 'candle' | 'tickCount' | 'volumeProfile', symbol: string, timeframe: string): string;
  key(kind: 'price' | 'priceHistory' | 'quotes' | 'candle' | 'tickCount' | 'volumeProfile', symbol: string, timeframe?: string): string {
    const p = this.o.keyPrefix;
    switch (kind) {
      case 'price':
        return `${p}price:${symbol}`;
      case 'priceHistory':
        return `${p}price_history:${symbol}`;
      case 'quotes':
        return `${p}quotes:${symbol}`;
      case 'candle':
        return `${p}ohlc:${symbol}:${timeframe!}`;
      case 'tickCount':
        return `${p}ticks:${symbol}:${timeframe!}`;
      case 'volumeProfile':
        return `${p}profile:${symbol}:${timeframe!}`;
    }
  }

  // ---- writes -------------------------------------------------------------

  /**
   * Writes trades: latest price per symbol, bounded history, one update
   * message. Idempotent. Throws `INVALID_ARGUMENT` for an invalid trade
   * (nothing is written) and `SINK_FAILED` when Redis fails.
   *
   * @example
   * ```ts
   * await store.writeTrades([{ symbol: 'AAPL', ts: Date.now(), price: 150.25, size: 100, id: 'T1' }]);
   * ```
   */
  async writeTrades(rows: readonly Trade[]): Promise<void> {
    this.check(rows, 'trades');
    await this.putTrades(rows);
  }

  /**
   * Writes quotes: latest quote and the idempotent quote count per symbol,
   * one update message.
   *
   * @example
   * ```ts
   * await store.writeQuotes([{ symbol: 'AAPL', ts: Date.now(), bid: 150.24, ask: 150.26, bidSize: 300, askSize: 200 }]);
   * ```
   */
  async writeQuotes(rows: readonly Quote[]): Promise<void> {
    this.check(rows, 'quotes');
    await this.putQuotes(rows);
  }

  /**
   * Writes candles: each becomes `ohlc:{symbol}:{tf}` unless a newer window
   * or a higher rev of the same window is stored; the ones that did are published.
   *
   * @example
   * ```ts
   * await pipeline(trades).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to((c) => void store.writeCandles([c])).run();
   * ```
   */
  async writeCandles(rows: readonly Candle[]): Promise<void> {
    this.check(rows, 'candles');
    await this.putWindows(rows, 'candle', 'candles');
  }

  /**
   * Writes tick counts to `ticks:{symbol}:{tf}` (latest window, as candles).
   *
   * @example
   * ```ts
   * await store.writeTickCounts(counts);
   * ```
   */
  async writeTickCounts(rows: readonly TickCount[]): Promise<void> {
    this.check(rows, 'tickCounts');
    await this.putWindows(rows, 'tickCount', 'tickCounts');
  }

  /**
   * Writes volume profiles to `profile:{symbol}:{tf}` (latest window, as candles).
   *
   * @example
   * ```ts
   * await store.writeVolumeProfiles(profiles);
   * ```
   */
  async writeVolumeProfiles(rows: readonly VolumeProfile[]): Promise<void> {
    this.check(rows, 'volumeProfiles');
    await this.putWindows(rows, 'volumeProfile', 'volumeProfiles');
  }

  private check<K extends RedisSinkKind>(rows: readonly RedisRows[K][], kind: K): void {
    const validate = validatorOf(kind);
    for (let i = 0; i < rows.length; i++) {
      const problem = validate(rows[i]!);
      if (problem !== undefined) throw new TickflowError('INVALID_ARGUMENT', `redis: row ${i} of the ${kind} batch is invalid (${problem}); nothing was written. Use store.sink('${kind}') to route bad rows to a dead-letter output instead`);
    }
  }

  /** The stable key of a trade; kept per row object so a retried batch gets the same keys. */
  private tradeKey(t: Trade): string {
    return this.keyer.keyOnce(t);
  }

  private async putTrades(rows: readonly Trade[]): Promise<void> {
    if (rows.length === 0) return;
    const latest = new Map<string, Trade>();
    const history = new Map<string, ScriptArg[]>();
    for (let i = 0; i < rows.length; i++) {
      const t = rows[i]!;
      const best = latest.get(t.symbol);
      if (best === undefined || t.ts >= best.ts) latest.set(t.symbol, t);
      let h = history.get(t.symbol);
      if (h === undefined) {
        h = [this.key('priceHistory', t.symbol)];
        history.set(t.symbol, h);
      }
      const hasId = t.id !== undefined && t.id !== '';
      // Member: ts|price|size|side|(i=id, k=derived key)key; the key is last so it may contain '|'.
      h.push(t.ts, `${t.ts}|${t.price}|${t.size}|${t.side ?? ''}|${hasId ? 'i' : 'k'}${this.tradeKey(t)}`);
    }
    const p = this.client.pipeline();
    const args: ScriptArg[] = [latest.size];
    for (const s of latest.keys()) args.push(this.key('price', s));
    args.push(this.o.priceTtlMs);
    for (const t of latest.values()) args.push(t.ts, t.price, t.size, t.side ?? '', t.id ?? '');
    (p as unknown as ScriptCommands).tickflowLatestPrice(args);
    const trimTo = -(this.o.historyLength + 1);
    for (const h of history.values()) {
      p.call('ZADD', h);
      p.zremrangebyrank(h[0] as string, 0, trimTo);
    }
    if (this.o.publish) p.publish(this.o.channel, JSON.stringify({ type: 'trades', items: rows }));
    await this.exec(p, `writing ${rows.length} trades`);
  }

  private async putQuotes(rows: readonly Quote[]): Promise<void> {
    if (rows.length === 0) return;
    const bySymbol = new Map<string, Quote[]>();
    for (let i = 0; i < rows.length; i++) {
      const q = rows[i]!;
      const list = bySymbol.get(q.symbol);
      if (list === undefined) bySymbol.set(q.symbol, [q]);
      else list.push(q);
    }
    const args: ScriptArg[] = [bySymbol.size];
    for (const s of bySymbol.keys()) args.push(this.key('quotes', s));
    for (const list of bySymbol.values()) {
      args.push(list.length);
      for (const q of list) args.push(q.ts, q.bid, q.ask, q.bidSize ?? '', q.askSize ?? '');
    }
    const p = this.client.pipeline();
    (p as unknown as ScriptCommands).tickflowQuoteCount(args);
    if (this.o.publish) p.publish(this.o.channel, JSON.stringify({ type: 'quotes', items: rows }));
    await this.exec(p, `writing ${rows.length} quotes`);
  }

  private async putWindows(rows: readonly (Candle | TickCount | VolumeProfile)[], kind: 'candle' | 'tickCount' | 'volumeProfile', type: RedisUpdate['type']): Promise<void> {
    if (rows.length === 0) return;
    const args: ScriptArg[] = [rows.length];
    for (let i = 0; i < rows.length; i++) args.push(this.key(kind, rows[i]!.symbol, rows[i]!.timeframe));
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
    if (this.closed) throw new TickflowError('SINK_CLOSED', `redis: ${what}: the store is closed`);
    const acks = this.o.replicaAcks;
    let wanted = 0;
    if (acks > 0) {
      if (this.replicas < 0) {
        try {
          this.replicas = RedisStore.replicaCount(await this.client.role());
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
      this.replicas = RedisStore.replicaCount(results[roleAt]![1]);
      if (wanted > 0) {
        const got = results[results.length - 1]![1] as number;
        if (got < wanted) {
          throw new TickflowError('SINK_FAILED', `redis: ${what}: only ${got} of ${wanted} replica(s) acknowledged the batch within ${this.o.replicaAckTimeoutMs} ms (${this.replicas} connected now); it is retried (writes are idempotent). Check the replicas' replication lag, or lower replicaAcks`);
        }
      }
    }
  }

  private static replicaCount(role: unknown): number {
    return Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
  }

  private failure(what: string, e: unknown): TickflowError {
    return new TickflowError('SINK_FAILED', `redis: ${what} failed (${this.where()}): ${describeError(e)}`, { cause: e });
  }

  // ---- reads --------------------------------------------------------------

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new TickflowError('SINK_FAILED', `redis: reading ${what} failed (${this.where()}): ${describeError(e)}`, { cause: e });
    }
  }

  /**
   * The latest trade price of a symbol, or undefined when none was written
   * in the last `priceTtl`.
   *
   * @example
   * ```ts
   * const price = await store.getPrice('AAPL'); // 150.25
   * ```
   */
  async getPrice(symbol: string): Promise<number | undefined> {
    const v = await this.read(`the price of ${symbol}`, () => this.client.hget(this.key('price', symbol), 'price'));
    return v === null ? undefined : Number(v);
  }

  /**
   * The latest trade of a symbol (by event time) as stored in `price:{symbol}`
   * (symbol, ts, price, size, side and id), or undefined.
   *
   * @example
   * ```ts
   * const last = await store.getLastTrade('AAPL'); // { symbol: 'AAPL', ts, price, size, side, id }
   * ```
   */
  async getLastTrade(symbol: string): Promise<Trade | undefined> {
    const h = await this.read(`the last trade of ${symbol}`, () => this.client.hgetall(this.key('price', symbol)));
    if (h.ts === undefined) return undefined;
    const t: Trade = { symbol, ts: Number(h.ts), price: Number(h.price), size: Number(h.size) };
    if (h.side === 'buy' || h.side === 'sell') t.side = h.side;
    if (h.id !== undefined && h.id !== '') t.id = h.id;
    return t;
  }

  /**
   * The last `n` trades of a symbol kept in `price_history:{symbol}`, oldest
   * first (at most `historyLength`).
   *
   * @example
   * ```ts
   * const last100 = await store.getPriceHistory('AAPL', 100);
   * ```
   */
  async getPriceHistory(symbol: string, n = this.o.historyLength): Promise<Trade[]> {
    if (!(Number.isInteger(n) && n >= 0)) throw new TickflowError('INVALID_ARGUMENT', `getPriceHistory: n must be a non-negative integer, got ${n}`);
    if (n === 0) return [];
    const members = await this.read(`the price history of ${symbol}`, () => this.client.zrange(this.key('priceHistory', symbol), -n, -1));
    return members.map((m) => RedisStore.historyTrade(symbol, m));
  }

  /**
   * Trades of a symbol from the kept history with `from ≤ ts < to`, oldest
   * first (Redis keeps only the last `historyLength` per symbol).
   *
   * @example
   * ```ts
   * const trades = await store.readTrades({ symbol: 'AAPL', from: Date.now() - 60_000, to: Date.now() });
   * ```
   */
  async readTrades({ symbol, from, to, limit }: { symbol: string; from: number; to: number; limit?: number }): Promise<Trade[]> {
    const key = this.key('priceHistory', symbol);
    const members = await this.read(`trades of ${symbol}`, () =>
      limit === undefined ? this.client.zrangebyscore(key, from, `(${to}`) : this.client.zrangebyscore(key, from, `(${to}`, 'LIMIT', 0, limit),
    );
    return members.map((m) => RedisStore.historyTrade(symbol, m));
  }

  private static historyTrade(symbol: string, member: string): Trade {
    const a = member.indexOf('|');
    const b = member.indexOf('|', a + 1);
    const c = member.indexOf('|', b + 1);
    const d = member.indexOf('|', c + 1);
    const t: Trade = { symbol, ts: Number(member.slice(0, a)), price: Number(member.slice(a + 1, b)), size: Number(member.slice(b + 1, c)) };
    const side = member.slice(c + 1, d);
    if (side === 'buy' || side === 'sell') t.side = side;
    if (member.charAt(d + 1) === 'i') t.id = member.slice(d + 2);
    return t;
  }

  /**
   * The latest candle of a symbol and timeframe (highest start, then rev), or
   * undefined when none was written in the last `aggregateTtl`.
   *
   * @example
   * ```ts
   * const candle = await store.getCandle('AAPL', '1m');
   * ```
   */
  async getCandle(symbol: string, timeframe: string): Promise<Candle | undefined> {
    return this.getJson<Candle>(this.key('candle', symbol, timeframe), `the ${timeframe} candle of ${symbol}`);
  }

  /**
   * The latest tick count of a symbol and timeframe, or undefined.
   *
   * @example
   * ```ts
   * const ticks = await store.getTickCount('AAPL', '1m');
   * ```
   */
  async getTickCount(symbol: string, timeframe: string): Promise<TickCount | undefined> {
    return this.getJson<TickCount>(this.key('tickCount', symbol, timeframe), `the ${timeframe} tick count of ${symbol}`);
  }

  /**
   * The latest volume profile of a symbol and timeframe, or undefined.
   *
   * @example
   * ```ts
   * const profile = await store.getVolumeProfile('AAPL', '1m');
   * ```
   */
  async getVolumeProfile(symbol: string, timeframe: string): Promise<VolumeProfile | undefined> {
    return this.getJson<VolumeProfile>(this.key('volumeProfile', symbol, timeframe), `the ${timeframe} volume profile of ${symbol}`);
  }

  private async getJson<T>(key: string, what: string): Promise<T | undefined> {
    const v = await this.read(what, () => this.client.get(key));
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  /**
   * How many distinct quotes were counted for a symbol (0 when none).
   *
   * @example
   * ```ts
   * const n = await store.getQuoteCount('AAPL');
   * ```
   */
  async getQuoteCount(symbol: string): Promise<number> {
    const v = await this.read(`the quote count of ${symbol}`, () => this.client.hget(this.key('quotes', symbol), 'count'));
    return v === null ? 0 : Number(v);
  }

  /**
   * The latest quote of a symbol and its quote count, or undefined.
   *
   * @example
   * ```ts
   * const state = await store.getQuote('AAPL'); // { quote: { symbol, ts, bid, ask, … }, count }
   * ```
   */
  async getQuote(symbol: string): Promise<RedisQuoteState | undefined> {
    const h = await this.read(`the quote of ${symbol}`, () => this.client.hgetall(this.key('quotes', symbol)));
    if (h.ts === undefined) return undefined;
    const quote: Quote = { symbol, ts: Number(h.ts), bid: Number(h.bid), ask: Number(h.ask) };
    const bidSize = num(h.bidSize);
    const askSize = num(h.askSize);
    if (bidSize !== undefined) quote.bidSize = bidSize;
    if (askSize !== undefined) quote.askSize = askSize;
    return { quote, count: Number(h.count ?? 0) };
  }

  // ---- pub/sub ------------------------------------------------------------

  /**
   * Subscribes to the updates channel on a connection of its own and calls
   * `handler` with each parsed update (messages that are not tickflow
   * updates are ignored). Resolves once subscribed, with a function that
   * unsubscribes and closes that connection. The connection reconnects and
   * resubscribes by itself; messages published while it is down are missed
   * (pub/sub keeps nothing), so a client re-reads the keys after a gap.
   *
   * @example
   * ```ts
   * const unsubscribe = await store.subscribe((u) => { if (u.type === 'candles') console.log(u.items); });
   * await unsubscribe();
   * ```
   */
  async subscribe(handler: (update: RedisUpdate) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new TickflowError('SINK_CLOSED', 'redis: the store is closed; connect a new one to subscribe');
    const sub = this.client.duplicate({ enableOfflineQueue: true, autoResendUnfulfilledCommands: true, maxRetriesPerRequest: null, lazyConnect: true, connectionName: 'tickflow-updates' });
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.o.channel) return;
      const update = parseRedisUpdate(message);
      if (update === undefined) return;
      try {
        handler(update);
      } catch (e) {
        this.o.log(`redis: an update handler threw: ${describeError(e)}`);
      }
    });
    this.subscribers.add(sub);
    try {
      await sub.connect();
      await sub.subscribe(this.o.channel);
    } catch (e) {
      this.subscribers.delete(sub);
      sub.disconnect();
      throw new TickflowError('SINK_FAILED', `redis: subscribing to "${this.o.channel}" failed (${this.where()}): ${describeError(e)}`, { cause: e });
    }
    return async () => {
      if (!this.subscribers.delete(sub)) return;
      await RedisStore.quit(sub);
    };
  }

  private static async quit(client: Redis): Promise<void> {
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }

  // ---- sinks --------------------------------------------------------------

  /**
   * A batching sink writing `kind` rows to this store (retries, breaker,
   * backpressure, dead letters for invalid rows; see BatchingSink). Closing
   * the sink flushes it but leaves the store open.
   *
   * @example
   * ```ts
   * const job = pipeline(syntheticTrades()).pipe(keyBy('symbol'), tumbling({ size: '1m' }, ohlcv())).to(store.sink('candles', { maxBatchSize: 1000 }));
   * ```
   */
  sink<K extends RedisSinkKind>(kind: K, options: SinkOptions = {}): BatchingSink<RedisRows[K]> {
    return new BatchingSink(this.target(kind), options);
  }

  /** The sink target of one kind (rows are validated by the sink, not again here). */
  private target<K extends RedisSinkKind>(kind: K): SinkTarget<RedisRows[K]> {
    return {
      name: `redis:${kind}`,
      validate: validatorOf(kind),
      writeRows: (rows: readonly RedisRows[K][]) => this.putRows(kind, rows),
    };
  }

  /** @internal Writes already validated rows of one kind. */
  putRows<K extends RedisSinkKind>(kind: K, rows: readonly RedisRows[K][]): Promise<void> {
    switch (kind) {
      case 'trades':
        return this.putTrades(rows as readonly Trade[]);
      case 'quotes':
        return this.putQuotes(rows as readonly Quote[]);
      case 'candles':
        return this.putWindows(rows as readonly Candle[], 'candle', 'candles');
      case 'tickCounts':
        return this.putWindows(rows as readonly TickCount[], 'tickCount', 'tickCounts');
      case 'volumeProfiles':
        return this.putWindows(rows as readonly VolumeProfile[], 'volumeProfile', 'volumeProfiles');
      default:
        throw new TickflowError('INVALID_ARGUMENT', `redis: unknown sink kind ${JSON.stringify(kind)}`);
    }
  }

  /**
   * Closes the connection and every subscription. Sinks made by `sink()`
   * should be closed (flushed) first.
   *
   * @example
   * ```ts
   * await sink.close();
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subs = [...this.subscribers];
    this.subscribers.clear();
    await Promise.all([...subs.map((s) => RedisStore.quit(s)), RedisStore.quit(this.client)]);
  }
}
