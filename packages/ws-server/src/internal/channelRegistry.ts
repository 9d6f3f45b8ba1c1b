import type { Candle, Quote, Trade, VolumeProfile } from '@tickflow/core';
import { parseChannel } from '../protocol.js';
import type { ParsedChannel } from '../protocol.js';
import type { FeedEvents, FeedKind } from '../wsServerOptions.js';
import { ChannelState } from './channelState.js';
import type { RecoveryHistory, Row } from './channelState.js';
import type { TickerStates } from './tickerState.js';

/** Rows kept per channel family. */
export interface ChannelLimits {
  readonly trades: number;
  readonly candles: number;
  readonly profile: number;
  readonly tickerSymbols: number;
  readonly user: number;
}

const PRIVATE_PREFIX = 'user:';

/**
 * The registry key of channel `name` as `subject` sees it: the name itself,
 * or for a private `user:TOPIC` channel the name and the subject (so the
 * same name is a different channel per user, and no name reaches another
 * user's channel).
 */
export function channelKey(name: string, subject: string): string {
  return name.startsWith(PRIVATE_PREFIX) ? `${name}\u0000${subject}` : name;
}

/**
 * Every channel's state in one map, keyed by channelKey: created on first
 * publish or subscribe, dropped when it holds nothing and nobody listens.
 * `ticker` always exists.
 */
export class ChannelRegistry<Sub> {
  private readonly channels = new Map<string, ChannelState<Sub>>();
  /**
   * Lookup by symbol for the per-trade and per-quote path (no string built per
   * event): derived from `channels`, filled by feed() and emptied with it by
   * dropIfIdle, nowhere else.
   */
  private readonly bySymbol = { trades: new Map<string, ChannelState<Sub>>(), quotes: new Map<string, ChannelState<Sub>>() };
  readonly ticker: ChannelState<Sub>;

  /** @param invalid called with the reason when a publish names no valid channel. */
  constructor(
    private readonly limits: ChannelLimits,
    private readonly history: RecoveryHistory,
    private readonly invalid: (message: string) => void,
  ) {
    this.ticker = new ChannelState<Sub>({ name: 'ticker', kind: 'ticker', symbol: undefined, timeframe: undefined }, limits.tickerSymbols);
    this.channels.set('ticker', this.ticker);
  }

  /** Channels held. */
  get size(): number {
    return this.channels.size;
  }

  /** The channel under `key` (see channelKey), if it exists. */
  get(key: string): ChannelState<Sub> | undefined {
    return this.channels.get(key);
  }

  /**
   * The channel `name` (of `subject`, for a private one), created when
   * missing; undefined, reported through `invalid`, when the name is not a
   * channel.
   */
  open(name: string, subject: string): ChannelState<Sub> | undefined {
    const key = channelKey(name, subject);
    const ch = this.channels.get(key);
    if (ch !== undefined) return ch;
    const parsed = parseChannel(name);
    if (typeof parsed === 'string') {
      this.invalid(parsed);
      return undefined;
    }
    return this.create(parsed, key);
  }

  /** The `trades:SYM` or `quotes:SYM` channel of `symbol` for publishing (see open). */
  feed(kind: 'trades' | 'quotes', symbol: string): ChannelState<Sub> | undefined {
    const index = this.bySymbol[kind];
    let ch = index.get(symbol);
    if (ch === undefined) {
      ch = this.open(`${kind}:${symbol}`, '');
      if (ch !== undefined) index.set(symbol, ch);
    }
    return ch;
  }

  private create(parsed: ParsedChannel, key: string): ChannelState<Sub> {
    const l = this.limits;
    const limit = parsed.kind === 'trades' ? l.trades : parsed.kind === 'candles' ? l.candles : parsed.kind === 'profile' ? l.profile : parsed.kind === 'quotes' ? 1 : parsed.kind === 'user' ? l.user : l.tickerSymbols;
    const ch = new ChannelState<Sub>(parsed, limit, parsed.kind === 'trades' ? this.history : undefined, key);
    this.channels.set(key, ch);
    return ch;
  }

  /**
   * Upserts rows (keyed by `id`) into the private channel `name` of
   * `subject`; returns the channel when something changed. Rows without a
   * string id and names that are not `user:TOPIC` are reported through `invalid`.
   */
  upsertPrivate(subject: string, name: string, rows: readonly { readonly id: unknown }[]): ChannelState<Sub> | undefined {
    if (!name.startsWith(PRIVATE_PREFIX)) {
      this.invalid(`${name.slice(0, 64)}: publishTo needs a private channel user:TOPIC`);
      return undefined;
    }
    const ch = this.open(name, subject);
    if (ch === undefined) return undefined;
    let changed = false;
    for (const r of rows) {
      if (typeof r.id !== 'string' || r.id === '') this.invalid(`${name}: a row without a string id`);
      else if (ch.upsert(r as unknown as Row)) changed = true;
    }
    return changed ? ch : undefined;
  }

  /** Drops a channel that holds nothing and has no subscriber (channels created by subscribes to unknown symbols). */
  dropIfIdle(ch: ChannelState<Sub>): void {
    if (ch.subscribers.size > 0 || ch.size > 0 || ch.dirty || ch === this.ticker) return;
    // A list channel that ever had items keeps its epoch and offsets for reconnecting clients.
    if (ch.offset > 0) return;
    this.channels.delete(ch.key);
    if (ch.kind === 'trades' || ch.kind === 'quotes') this.bySymbol[ch.kind].delete(ch.name.slice(7));
  }
}

/**
 * Applies published events to their channels (created on first use), adding
 * each changed channel to `dirty`; trades also feed the ticker states.
 * Returns false for an unknown feed kind.
 */
export function applyFeed<Sub, K extends FeedKind>(registry: ChannelRegistry<Sub>, tickers: TickerStates, dirty: Set<ChannelState<Sub>>, kind: K, events: readonly FeedEvents[K][]): boolean {
  switch (kind) {
    case 'trades': {
      const now = Date.now();
      for (let i = 0; i < events.length; i++) {
        const t = events[i] as Trade;
        const ch = registry.feed('trades', t.symbol);
        if (ch === undefined) continue;
        ch.append(t as unknown as Row, now);
        dirty.add(ch);
        tickers.add(t);
      }
      return true;
    }
    case 'quotes':
      for (let i = 0; i < events.length; i++) {
        const q = events[i] as Quote;
        const ch = registry.feed('quotes', q.symbol);
        if (ch !== undefined && ch.upsert(q as unknown as Row)) dirty.add(ch);
      }
      return true;
    case 'candles':
    case 'profile':
      for (let i = 0; i < events.length; i++) {
        const w = events[i] as Candle | VolumeProfile;
        const ch = registry.open(`${kind}:${w.symbol}:${w.timeframe}`, '');
        if (ch !== undefined && ch.upsert(w as unknown as Row)) dirty.add(ch);
      }
      return true;
    default:
      return false;
  }
}
