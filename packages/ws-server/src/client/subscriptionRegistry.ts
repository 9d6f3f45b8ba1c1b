// The client's subscriptions: one local store per channel, the listeners and handles on it, and the
// batch of changes handed to them once per interval.
import type { ChannelKind } from '../protocol.js';
import { ChannelStore } from './channelStore.js';
import type { ChannelUpdate, ClientError, RowOf } from './clientTypes.js';

/** One subscribed channel. */
export interface ChannelEntry {
  readonly store: ChannelStore;
  readonly listeners: Set<(update: ChannelUpdate) => void>;
  handles: number;
}

/** Channel name → its local state and listeners. */
export class SubscriptionRegistry {
  private readonly channels = new Map<string, ChannelEntry>();

  /** Adds a handle on `channel` (and `listener`); `added` is true when the channel is new here, so it must be subscribed. */
  add(channel: string, kind: ChannelKind, listener: ((update: ChannelUpdate) => void) | undefined): { entry: ChannelEntry; added: boolean } {
    let entry = this.channels.get(channel);
    const added = entry === undefined;
    if (entry === undefined) {
      entry = { store: new ChannelStore(kind), listeners: new Set(), handles: 0 };
      this.channels.set(channel, entry);
    }
    entry.handles++;
    if (listener !== undefined) entry.listeners.add(listener);
    return { entry, added };
  }

  /** Drops one handle (and `listener`); true when it was the last one and the channel left the registry. */
  release(channel: string, entry: ChannelEntry, listener: ((update: ChannelUpdate) => void) | undefined): boolean {
    if (listener !== undefined) entry.listeners.delete(listener);
    if (--entry.handles > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  get(channel: string): ChannelEntry | undefined {
    return this.channels.get(channel);
  }

  /** Forgets a channel (the server refused it). */
  delete(channel: string): void {
    this.channels.delete(channel);
  }

  /** Every subscribed channel with its entry. */
  entries(): IterableIterator<[string, ChannelEntry]> {
    return this.channels.entries();
  }

  /** True when every channel has a snapshot applied and no gap pending. */
  get synced(): boolean {
    for (const e of this.channels.values()) if (e.store.waiting) return false;
    return true;
  }

  /**
   * Hands every channel that changed since the last call to its listeners and returns the batch
   * (undefined when nothing changed); a listener that throws is reported through `onError`.
   */
  deliver(onError: (error: ClientError) => void): ChannelUpdate[] | undefined {
    let updates: ChannelUpdate[] | undefined;
    for (const [channel, e] of this.channels) {
      const c = e.store.takeChanges();
      if (c === undefined) continue;
      const u: ChannelUpdate = {
        channel,
        kind: e.store.kind,
        rows: e.store.rows() as readonly RowOf<string>[],
        changed: c.changed as readonly RowOf<string>[],
        reset: c.reset,
        recovered: c.recovered,
        seq: e.store.seq,
      };
      (updates ??= []).push(u);
      for (const l of e.listeners) {
        try {
          l(u);
        } catch (err) {
          onError({ code: 'LISTENER', message: `a subscription listener threw: ${err instanceof Error ? err.message : String(err)}`, channel });
        }
      }
    }
    return updates;
  }
}
