import type { ClientStatus } from '@tickflow/ws-server/client';

/** What the page shows about its data: live, connecting, reconnecting, stale (connected, but no update for a while) or offline. */
export type DataState = 'connecting' | 'live' | 'reconnecting' | 'stale' | 'offline';

/** No update for this long while connected counts as stale. */
const STALE_MS = 3000;

/** The connection badge: follows the SDK's `status` events and the time of the last batch. */
export class ConnectionStatus {
  private client: ClientStatus = 'connecting';
  private everOpen = false;
  private lastBatchAt = 0;
  private shown: DataState | undefined;

  constructor(private readonly badge: HTMLElement) {
    setInterval(() => this.paint(), 500);
  }

  /** The SDK's connection status changed. */
  onClientStatus(s: ClientStatus): void {
    this.client = s;
    if (s === 'open') {
      this.everOpen = true;
      this.lastBatchAt = Date.now();
    }
    this.paint();
  }

  /** A batch of updates arrived. */
  onBatch(): void {
    this.lastBatchAt = Date.now();
  }

  /** A new client (after sign in): not a reconnect. */
  restart(): void {
    this.everOpen = false;
    this.client = 'connecting';
  }

  get state(): DataState {
    switch (this.client) {
      case 'open':
        return Date.now() - this.lastBatchAt > STALE_MS ? 'stale' : 'live';
      case 'connecting':
        return this.everOpen ? 'reconnecting' : 'connecting';
      case 'reconnecting':
        return 'reconnecting';
      case 'closed':
        return 'offline';
    }
  }

  paint(): void {
    const s = this.state;
    if (s === this.shown) return;
    this.shown = s;
    this.badge.dataset.state = s;
    this.badge.textContent = s === 'stale' ? 'stale: no updates' : s;
  }
}
