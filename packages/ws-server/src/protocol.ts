// The wire protocol shared by the server and the client SDK (docs/protocol.md), public as
// @tickflow/ws-server/protocol for clients in other stacks.
// No Node or DOM imports: the client entry bundles this file for browsers and React Native.
import type { RowKinds } from '@tickflow/core';
// The zod-free entry: this module is part of the browser SDK.
import { isValidSymbol } from '@tickflow/core/symbols';

/** Version of the wire protocol; part of the subprotocol names. */
export const PROTOCOL_VERSION = 1;

/** Subprotocol a client offers to get MessagePack binary frames (the default). */
export const MSGPACK_SUBPROTOCOL = 'tickflow.v1.msgpack';

/**
 * Subprotocol a client offers to get JSON text frames.
 *
 * @example
 * ```ts
 * const socket = new WebSocket('ws://127.0.0.1:8080/ws', [JSON_SUBPROTOCOL]);
 * ```
 */
export const JSON_SUBPROTOCOL = 'tickflow.v1.json';

/** Frame encoding of one connection. */
export type WireFormat = 'msgpack' | 'json';

/**
 * Close codes the server sends (and the client SDK understands). Standard
 * codes where one fits, application codes (4000–4999) for the rest.
 *
 * @example
 * ```ts
 * ws.on('close', (code) => { if (code === CloseCode.SLOW_CONSUMER) console.warn('fell behind'); });
 * ```
 */
export const CloseCode = {
  /** Normal closure (the client asked for it). */
  NORMAL: 1000,
  /** The server is shutting down; reconnect (to another node). */
  GOING_AWAY: 1001,
  /** A frame that is neither MessagePack nor JSON. */
  INVALID_PAYLOAD: 1007,
  /** Policy violation: the client kept sending past its rate limit. */
  POLICY_VIOLATION: 1008,
  /** A client frame larger than `maxMessageSize` (sent by `ws` itself). */
  MESSAGE_TOO_BIG: 1009,
  /** An unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** The socket stayed above the slow-consumer threshold past the deadline. */
  SLOW_CONSUMER: 4000,
  /** The credentials expired while connected; reconnect with a fresh token. */
  TOKEN_EXPIRED: 4001,
  /** The server ended the connection's session (logout or revocation); sign in again. */
  SESSION_REVOKED: 4002,
} as const;

/** One of the CloseCode values. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Channel families. `user` channels (`user:TOPIC`) are private: the server
 * resolves the name per connection to the authenticated subject's own
 * channel, so the same name means a different channel for each user.
 */
export type ChannelKind = 'trades' | 'quotes' | 'candles' | 'profile' | 'ticker' | 'user';

/** A row of a private `user:TOPIC` channel: any record with a string `id` (its key). */
export interface UserRow {
  readonly id: string;
  readonly [field: string]: unknown;
}

/**
 * Where a client is in a list channel's stream: the channel's `epoch` (a new
 * one whenever the server lost the channel's history, e.g. a restart) and the
 * `offset` of the last item it got (items are numbered 1, 2, 3, …).
 */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** The ticker row of one symbol: last price, change since the UTC day's first trade, day volume. */
export interface TickerRow {
  readonly symbol: string;
  /** Last trade price. */
  readonly last: number;
  /** First trade price of the UTC day (event time). */
  readonly open: number;
  /** last − open. */
  readonly change: number;
  /** (last − open) / open × 100. */
  readonly changePct: number;
  /** Sum of trade sizes in the UTC day. */
  readonly volume: number;
  /** Event time of the last trade. */
  readonly ts: number;
}

/**
 * The row type of each channel family: core's `RowKinds` under the channel
 * names (`profile:` carries `RowKinds['volumeProfiles']`), plus the rows only
 * the WebSocket has.
 */
export interface RowOfKind extends Pick<RowKinds, 'trades' | 'quotes' | 'candles'> {
  profile: RowKinds['volumeProfiles'];
  ticker: TickerRow;
  user: UserRow;
}

/** The channel family of a channel name, at the type level (`'candles:AAPL:1m'` → `'candles'`). */
export type KindOfChannel<C extends string> = C extends `trades:${string}`
  ? 'trades'
  : C extends `quotes:${string}`
    ? 'quotes'
    : C extends `candles:${string}:${string}`
      ? 'candles'
      : C extends `profile:${string}:${string}`
        ? 'profile'
        : C extends 'ticker'
          ? 'ticker'
          : C extends `user:${string}`
            ? 'user'
            : never;

/** A channel name: `trades:SYM`, `quotes:SYM`, `candles:SYM:TF`, `profile:SYM:TF`, `ticker` or a private `user:TOPIC`. */
export type ChannelName =
  | `trades:${string}`
  | `quotes:${string}`
  | `candles:${string}:${string}`
  | `profile:${string}:${string}`
  | 'ticker'
  | `user:${string}`;

/** A parsed channel name. */
export interface ParsedChannel {
  readonly name: string;
  readonly kind: ChannelKind;
  /** Symbol (absent for `ticker` and `user`). */
  readonly symbol: string | undefined;
  /** Timeframe label (candles and profile only). */
  readonly timeframe: string | undefined;
}

const TIMEFRAME_RE = /^[1-9][0-9]{0,5}(ms|s|m|h|d|w)$/;
/** A private channel's topic: no `:`, so no name can point at another user's channel. */
const TOPIC_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * Parses a channel name, or returns why it is not one.
 *
 * @example
 * ```ts
 * const c = parseChannel('candles:AAPL:1m');
 * if (typeof c !== 'string') console.log(c.kind, c.symbol, c.timeframe); // candles AAPL 1m
 * ```
 */
export function parseChannel(name: string): ParsedChannel | string {
  if (name === 'ticker') return { name, kind: 'ticker', symbol: undefined, timeframe: undefined };
  const colon = name.indexOf(':');
  if (colon <= 0) return `unknown channel "${name.slice(0, 64)}": expected trades:SYM, quotes:SYM, candles:SYM:TF, profile:SYM:TF, ticker or user:TOPIC`;
  const family = name.slice(0, colon);
  const rest = name.slice(colon + 1);
  switch (family) {
    case 'trades':
    case 'quotes':
      if (!isValidSymbol(rest)) return `bad symbol in channel "${name.slice(0, 64)}": 1–32 printable ASCII characters without spaces`;
      return { name, kind: family, symbol: rest, timeframe: undefined };
    case 'candles':
    case 'profile': {
      const last = rest.lastIndexOf(':');
      const symbol = last > 0 ? rest.slice(0, last) : '';
      const timeframe = last > 0 ? rest.slice(last + 1) : '';
      if (!isValidSymbol(symbol)) return `bad symbol in channel "${name.slice(0, 64)}": expected ${family}:SYM:TF`;
      if (!TIMEFRAME_RE.test(timeframe)) return `bad timeframe in channel "${name.slice(0, 64)}": expected a label like 1m, 5m, 1h`;
      return { name, kind: family, symbol, timeframe };
    }
    case 'user':
      if (!TOPIC_RE.test(rest)) return `bad private channel "${name.slice(0, 64)}": expected user:TOPIC (1–32 of A–Z a–z 0–9 _ . -); it always means the signed-in user's own channel`;
      return { name, kind: 'user', symbol: undefined, timeframe: undefined };
    default:
      return `unknown channel family "${family.slice(0, 32)}": expected trades, quotes, candles, profile, ticker or user`;
  }
}

/**
 * The field that identifies a row inside a keyed channel: a delta row always
 * carries it. `trades` channels are lists (no key: deltas append).
 *
 * @example
 * ```ts
 * const key = ROW_KEY.candles; // 'start'
 * ```
 */
export const ROW_KEY: Readonly<Record<Exclude<ChannelKind, 'trades'>, RowKeyField>> = {
  quotes: 'symbol',
  candles: 'start',
  profile: 'start',
  ticker: 'symbol',
  user: 'id',
};

/** The key field of a keyed channel's rows. */
export type RowKeyField = 'symbol' | 'start' | 'id';

// ---- client → server ----

/**
 * Subscribes to channels; each gets a `snapshot` (or an `error`). `recover`
 * gives, for list channels the client had before a reconnect, where it
 * stopped: the server then sends only the items it missed (a snapshot with
 * `recovered: true`), or a fresh snapshot with `recovered: false` when it
 * cannot (the gap is older than the channel's history, or the epoch changed).
 */
export interface SubscribeMessage {
  readonly type: 'subscribe';
  readonly channels: readonly string[];
  readonly recover?: Readonly<Record<string, StreamPosition>> | undefined;
  readonly id?: number | undefined;
}

/** Unsubscribes from channels; answered with `unsubscribed`. */
export interface UnsubscribeMessage {
  readonly type: 'unsubscribe';
  readonly channels: readonly string[];
  readonly id?: number | undefined;
}

/** Asks for a fresh snapshot of a subscribed channel (after a sequence gap); with `recover`, for the missed items of a list channel as in `subscribe`. */
export interface ResyncMessage {
  readonly type: 'resync';
  readonly channel: string;
  readonly recover?: StreamPosition | undefined;
  readonly id?: number | undefined;
}

/** Application-level ping; answered with `pong` echoing `id` and `ts`. */
export interface PingMessage {
  readonly type: 'ping';
  readonly id?: number | undefined;
  readonly ts?: number | undefined;
}

/** A message from a client. */
export type ClientMessage = SubscribeMessage | UnsubscribeMessage | ResyncMessage | PingMessage;

// ---- server → client ----

/** First message on every connection. */
export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly protocol: number;
  readonly connectionId: string;
  readonly flushInterval: number;
  readonly heartbeatInterval: number;
  readonly maxSubscriptions: number;
}

/**
 * The whole state of a channel: `rows` (list channels: the most recent items,
 * oldest first; keyed channels: every row, ascending by key), at sequence `seq`.
 * `limit` is how many rows the channel keeps: the client trims to it too.
 * List channels add their `epoch` and the `offset` of their last item. After
 * a subscribe or resync with `recover`: `recovered: true` means `rows` are
 * exactly the items missed since the client's offset (append them), and
 * `recovered: false` that recovery failed and this is a full snapshot.
 */
export interface SnapshotMessage<Row = unknown> {
  readonly type: 'snapshot';
  readonly channel: string;
  readonly seq: number;
  readonly rows: readonly Row[];
  readonly limit: number;
  readonly epoch?: string | undefined;
  readonly offset?: number | undefined;
  readonly recovered?: boolean | undefined;
}

/**
 * Changes since sequence `prev`, bringing the channel to `seq`. List channels:
 * `rows` are appended items and `offset` is the offset of the last one.
 * Keyed channels: each row holds its key and only the fields that changed
 * (a new row holds all). `prev` is usually `seq − 1`; a conflated delta
 * (slow consumer) spans several sequence numbers.
 */
export interface DeltaMessage<Row = unknown> {
  readonly type: 'delta';
  readonly channel: string;
  readonly seq: number;
  readonly prev: number;
  readonly rows: readonly Partial<Row>[];
  readonly offset?: number | undefined;
}

/** Confirms an unsubscribe. */
export interface UnsubscribedMessage {
  readonly type: 'unsubscribed';
  readonly channels: readonly string[];
  readonly id?: number | undefined;
}

/** Answer to a ping. */
export interface PongMessage {
  readonly type: 'pong';
  readonly id?: number | undefined;
  readonly ts?: number | undefined;
  readonly serverTime: number;
}

/** Error codes carried by `error` messages. */
export type ProtocolErrorCode =
  | 'BAD_MESSAGE'
  | 'UNKNOWN_CHANNEL'
  | 'FORBIDDEN'
  | 'SUBSCRIPTION_LIMIT'
  | 'NOT_SUBSCRIBED'
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** A request that could not be served; the connection stays open. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: ProtocolErrorCode;
  readonly message: string;
  readonly channel?: string | undefined;
  readonly id?: number | undefined;
}

/** A message from the server. */
export type ServerMessage =
  | WelcomeMessage
  | SnapshotMessage
  | DeltaMessage
  | UnsubscribedMessage
  | PongMessage
  | ErrorMessage;

/**
 * MessagePack record structures both sides preload (msgpackr shared
 * structures): the envelopes and the full rows, so the hot messages carry no
 * field names. Append only: changing an entry changes the wire format.
 *
 * @example
 * ```ts
 * const packr = new Packr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
 * ```
 */
export const SHARED_STRUCTURES: readonly (readonly string[])[] = [
  ['type', 'channel', 'seq', 'prev', 'rows'],
  ['type', 'channel', 'seq', 'rows', 'limit'],
  ['symbol', 'ts', 'price', 'size', 'side'],
  ['symbol', 'ts', 'price', 'size'],
  ['symbol', 'ts', 'bid', 'ask', 'bidSize', 'askSize'],
  ['symbol', 'timeframe', 'start', 'end', 'final', 'rev', 'open', 'high', 'low', 'close', 'volume', 'trades', 'vwap', 'buyVolume', 'sellVolume'],
  ['symbol', 'last', 'open', 'change', 'changePct', 'volume', 'ts'],
  ['type', 'id', 'ts', 'serverTime'],
  ['type', 'channels', 'id'],
  ['type', 'channels'],
  ['type', 'channel', 'seq', 'prev', 'rows', 'offset'],
  ['type', 'channel', 'seq', 'rows', 'limit', 'epoch', 'offset'],
];

/**
 * Fresh mutable copies of SHARED_STRUCTURES for a msgpackr Packr/Unpackr.
 *
 * @example
 * ```ts
 * const unpackr = new Unpackr({ structures: sharedStructures(), maxSharedStructures: SHARED_STRUCTURES.length, useRecords: true });
 * const messages = unpackr.unpackMultiple(frame);
 * ```
 */
export function sharedStructures(): string[][] {
  const out: string[][] = [];
  for (const s of SHARED_STRUCTURES) out.push(s.slice());
  return out;
}
