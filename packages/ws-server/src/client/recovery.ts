// What the client asks for after a reconnect or a gap: list channels continue where they stopped
// (the server sends what they missed, or a snapshot when it cannot); the others get a snapshot.
import type { ClientMessage, StreamPosition } from '../protocol.js';
import type { SubscriptionRegistry } from './subscriptionRegistry.js';

/** Channels per subscribe message when subscribing again. */
const PER_MESSAGE = 100;

/**
 * The subscribe messages that restore every channel of `registry` on a new socket, each channel
 * marked as waiting for its snapshot (or recovered items) until the server answers.
 */
export function resubscribeMessages(registry: SubscriptionRegistry, nextId: () => number): ClientMessage[] {
  const names: string[] = [];
  for (const [name, e] of registry.entries()) {
    e.store.waiting = true;
    names.push(name);
  }
  const out: ClientMessage[] = [];
  for (let i = 0; i < names.length; i += PER_MESSAGE) {
    const channels = names.slice(i, i + PER_MESSAGE);
    let recover: Record<string, StreamPosition> | undefined;
    for (const name of channels) {
      const at = registry.get(name)!.store.position();
      if (at !== undefined) (recover ??= {})[name] = at;
    }
    out.push(recover === undefined ? { type: 'subscribe', channels, id: nextId() } : { type: 'subscribe', channels, recover, id: nextId() });
  }
  return out;
}

/** The resync message for a channel that saw a sequence gap: a list channel asks for the items after its position. */
export function resyncMessage(channel: string, at: StreamPosition | undefined, id: number): ClientMessage {
  return at === undefined ? { type: 'resync', channel, id } : { type: 'resync', channel, recover: at, id };
}
