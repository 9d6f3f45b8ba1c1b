// The client SDK's public types: what a subscription, a batch and the client's events look like.
import type { ChannelKind, KindOfChannel, RowOfKind } from '../protocol.js';

/** The row type of a channel name (`'candles:AAPL:1m'` → Candle). */
export type RowOf<C extends string> = RowOfKind[KindOfChannel<C>];

/** One channel's update in a batch. */
export interface ChannelUpdate<C extends string = string> {
  readonly channel: C;
  readonly kind: ChannelKind;
  /** The whole local state: list channels oldest first, keyed channels ascending by key. */
  readonly rows: readonly RowOf<C>[];
  /** Appended items (trades) or rows that changed since the last batch, as they are now. */
  readonly changed: readonly RowOf<C>[];
  /** True when a snapshot replaced the state since the last batch. */
  readonly reset: boolean;
  /**
   * List channels after a reconnect (or a gap): true when the missed items
   * were recovered from the server's history (they are in `changed`), false
   * when they could not be (too old, or the server restarted) and a snapshot
   * replaced the state; undefined otherwise.
   */
  readonly recovered: boolean | undefined;
  /** Sequence number of the state. */
  readonly seq: number;
}

/** Connection status. */
export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the client reports on its `error` event. */
export interface ClientError {
  readonly code: string;
  readonly message: string;
  readonly channel?: string | undefined;
}

/** Events of a TickflowClient. */
export interface ClientEvents {
  /** One batch per `batchInterval` with every channel that changed. */
  batch: (updates: readonly ChannelUpdate[]) => void;
  status: (status: ClientStatus) => void;
  /** A server `error` message (forbidden channel, rate limit, …) or a connection problem. */
  error: (error: { code: string; message: string; channel?: string | undefined }) => void;
  /** The socket closed (a reconnect follows unless `close()` was called). */
  disconnect: (info: { code: number; reason: string }) => void;
}

/** A subscription handle. */
export interface Subscription<C extends string> {
  readonly channel: C;
  /** The channel's current rows (empty until the first snapshot). */
  rows(): readonly RowOf<C>[];
  /** Stops this subscription (the channel is unsubscribed when no handle is left). */
  unsubscribe(): void;
}

/** Counters of a client: connects, gaps seen, resyncs asked, frames and messages received. */
export interface ClientStats {
  connects: number;
  gaps: number;
  resyncs: number;
  frames: number;
  messages: number;
}
