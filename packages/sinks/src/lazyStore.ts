import { SinkOptionsSchema } from './sinkOptions.js';
import type { SinkOptions } from './sinkOptions.js';

const SINK_KEYS: ReadonlySet<string> = new Set([...Object.keys(SinkOptionsSchema.shape), 'deadLetter', 'warn']);

/**
 * Splits the options of a store-owning sink factory (`clickhouse({...})`,
 * `timescale({...})`, `redis({...})`) into the sink's options and the
 * store's; `kind` goes to neither.
 *
 * @example
 * ```ts
 * splitSinkOptions({ kind: 'candles', url: 'http://ch:8123', maxBatchSize: 10_000 });
 * // { sink: { maxBatchSize: 10_000 }, store: { url: 'http://ch:8123' } }
 * ```
 */
export function splitSinkOptions(options: object): { sink: SinkOptions; store: Record<string, unknown> } {
  const sink: Record<string, unknown> = {};
  const store: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (k === 'kind') continue;
    if (SINK_KEYS.has(k)) sink[k] = v;
    else store[k] = v;
  }
  return { sink: sink as SinkOptions, store };
}

/**
 * A store connected on first use, for sinks that own their store: a failed
 * connect is forgotten, so the sink's next retry connects again (a pipeline
 * can start before its database is up), and `close()` closes whatever got
 * connected.
 *
 * @example
 * ```ts
 * const lazy = new LazyStore(() => ClickHouseStore.connect({ url }));
 * await (await lazy.get()).writeCandles(rows);
 * await lazy.close();
 * ```
 */
export class LazyStore<S extends { close(): Promise<void> }> {
  private connecting: Promise<S> | undefined;

  constructor(private readonly connect: () => Promise<S>) {}

  /** The connected store, connecting now if needed. */
  readonly get = (): Promise<S> => {
    if (this.connecting === undefined) {
      const attempt = this.connect();
      this.connecting = attempt;
      attempt.catch(() => {
        if (this.connecting === attempt) this.connecting = undefined;
      });
    }
    return this.connecting;
  };

  /** Closes the store if it was connected; a store that never connected needs nothing. */
  readonly close = async (): Promise<void> => {
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending === undefined) return;
    const store = await pending.catch(() => undefined);
    await store?.close();
  };
}
