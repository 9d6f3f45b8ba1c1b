import { TickflowError, describeError } from '@tickflow/core';
import type { Candle, Quote, TickCount, Trade, VolumeProfile } from '@tickflow/core';
import { Redis } from 'ioredis';
import { BatchingSink } from '../batchingSink.js';
import type { Sink, SinkTarget } from '../sink.js';
import type { SinkOptions } from '../sinkOptions.js';
import { validatorOf } from './internal/rowKinds.js';
import type { RedisRows, RedisSinkKind } from './internal/rowKinds.js';
import { LATEST_PRICE_LUA, PRICE_HISTORY_LUA, LATEST_WINDOW_LUA, QUOTE_COUNT_LUA } from './internal/luaScripts.js';
import { driverOptions, inspectServer, where } from './redisConnection.js';
import type { RedisServerInfo } from './redisConnection.js';
import { RedisReads } from './redisReads.js';
import { resolveRedisOptions } from './redisStoreOptions.js';
import type { RedisStoreOptions, ResolvedRedisOptions } from './redisStoreOptions.js';
import { parseRedisUpdate } from './redisUpdate.js';
import type { RedisUpdate } from './redisUpdate.js';
import { RedisWriter } from './redisWriter.js';

// The store's parts: options (redisStoreOptions.ts), connection (redisConnection.ts), key names
// (redisKeys.ts), writes (redisWriter.ts, internal/luaScripts.ts), reads (redisReads.ts, which it extends).

/**
 * Redis as the dashboard's hot store, over ioredis, on a single
 * node (`url`) or through Sentinel (`sentinels` + `name`). Keys (after
 * `keyPrefix`):
 *
 * - `price:{symbol}`: hash of the latest trade by event time (`price`, `ts`,
 *   `size`, `side`, `id`), expiring after `priceTtl` (5 s). A replayed older
 *   trade never replaces a newer one.
 * - `price_history:{symbol}`: sorted set of the last `historyLength` trades,
 *   scored by event time, one member per trade key (`TradeKeyer`), so writing
 *   a trade twice stores it once (LPUSH + LTRIM would store replays twice
 *   and trim genuine trades away).
 * - `ohlc:{symbol}:{tf}`, `ticks:{symbol}:{tf}`, `profile:{symbol}:{tf}`: the
 *   latest window as JSON, expiring after `aggregateTtl` (60 s); replaced only
 *   by a newer window or the same window with a rev at least as high (Lua).
 * - `quotes:{symbol}`: hash with the latest quote (`ts`, `bid`, `ask`,
 *   `bidSize`, `askSize`) and `count`, the number of distinct quotes; a quote
 *   is counted when it advances the symbol's quote time (or is new at that
 *   ms), so a replay is not counted twice (a plain INCR would).
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
export class RedisStore extends RedisReads {
  private readonly writer: RedisWriter;
  private readonly subscribers = new Set<Redis>();
  private serverInfo: RedisServerInfo | undefined;
  private closed = false;
  private down = false;

  private constructor(client: Redis, o: ResolvedRedisOptions) {
    super(client, o);
    this.writer = new RedisWriter(client, o, () => this.closed);
    client.defineCommand('tickflowLatestPrice', { lua: LATEST_PRICE_LUA });
    client.defineCommand('tickflowPriceHistory', { lua: PRICE_HISTORY_LUA });
    client.defineCommand('tickflowLatestWindow', { lua: LATEST_WINDOW_LUA });
    client.defineCommand('tickflowQuoteCount', { lua: QUOTE_COUNT_LUA });
    // ioredis reports connection problems as events; the sink sees them as failed writes.
    client.on('error', (e: Error) => {
      if (this.down || this.closed || this.serverInfo === undefined) return;
      this.down = true;
      this.o.log(`redis: lost the connection to ${where(this.o)} (${e.message}); writes fail and are retried by the sinks until it is back`);
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
      this.writer.forgetReplicas();
      if (this.down) {
        this.down = false;
        this.o.log(`redis: reconnected to ${where(this.o)}`);
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
    const client = new Redis(driverOptions(o));
    const store = new RedisStore(client, o);
    try {
      await client.connect();
      store.serverInfo = await inspectServer(client, o);
    } catch (e) {
      client.disconnect();
      throw new TickflowError('SINK_FAILED', `could not connect to Redis (${where(o)}): ${describeError(e)}. Start Redis there or fix the ${o.mode === 'single' ? 'url' : 'sentinels / name'} option`, { cause: e });
    }
    const i = store.serverInfo;
    o.log(
      `redis: ${i.mode === 'single' ? 'single node' : `sentinel master "${o.name}"`} at ${i.address} (Redis ${i.version}, ${i.replicas} replica(s)); ` +
        `writes wait for ${i.replicaAcks} replica ack(s); keys prefixed "${o.keyPrefix}"; ${o.publish ? `updates published on "${o.channel}"` : 'no publishing'}`,
    );
    return store;
  }

  /** What the store found when it connected. */
  get info(): RedisServerInfo {
    return this.serverInfo!;
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
    await this.writer.putTrades(rows);
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
    await this.writer.putQuotes(rows);
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
    await this.writer.putWindows(rows, 'candle', 'candles');
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
    await this.writer.putWindows(rows, 'tickCount', 'tickCounts');
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
    await this.writer.putWindows(rows, 'volumeProfile', 'volumeProfiles');
  }

  private check<K extends RedisSinkKind>(rows: readonly RedisRows[K][], kind: K): void {
    const validate = validatorOf(kind);
    for (let i = 0; i < rows.length; i++) {
      const problem = validate(rows[i]!);
      if (problem !== undefined) throw new TickflowError('INVALID_ARGUMENT', `redis: row ${i} of the ${kind} batch is invalid (${problem}); nothing was written. Use store.sink('${kind}') to route bad rows to a dead-letter output instead`);
    }
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
      throw new TickflowError('SINK_FAILED', `redis: subscribing to "${this.o.channel}" failed (${where(this.o)}): ${describeError(e)}`, { cause: e });
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
  sink(kind: 'trades', options?: SinkOptions): Sink<Trade>;
  sink(kind: 'quotes', options?: SinkOptions): Sink<Quote>;
  sink(kind: 'candles', options?: SinkOptions): Sink<Candle>;
  sink(kind: 'volumeProfiles', options?: SinkOptions): Sink<VolumeProfile>;
  sink(kind: 'tickCounts', options?: SinkOptions): Sink<TickCount>;
  sink<K extends RedisSinkKind>(kind: K, options?: SinkOptions): Sink<RedisRows[K]>;
  sink<K extends RedisSinkKind>(kind: K, options: SinkOptions = {}): Sink<RedisRows[K]> {
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
        return this.writer.putTrades(rows as readonly Trade[]);
      case 'quotes':
        return this.writer.putQuotes(rows as readonly Quote[]);
      case 'candles':
        return this.writer.putWindows(rows as readonly Candle[], 'candle', 'candles');
      case 'tickCounts':
        return this.writer.putWindows(rows as readonly TickCount[], 'tickCount', 'tickCounts');
      case 'volumeProfiles':
        return this.writer.putWindows(rows as readonly VolumeProfile[], 'volumeProfile', 'volumeProfiles');
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
